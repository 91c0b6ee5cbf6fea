"""``python -m bot.cli``: the same as the ``lanebot`` console script, without installing it."""

import sys

from bot.cli import main

sys.exit(main())
