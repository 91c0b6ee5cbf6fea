"""Real lanebot processes for the multi-process reliability tests (``serve_bot`` + ``BotProcess``)."""
