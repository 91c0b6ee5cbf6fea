"""The Slack surface: the Bolt app, its listeners and flows, Block Kit views, message texts, Slack I/O.

    app.py        build_app: registers every listener, in one function
    listeners/    thin Bolt listeners: ack, parse the payload, call one flow, render
    flows/        what happens between a payload and the messages posted (Slack-free core calls)
    views.py      pure Block Kit builders;   messages.py  every user-facing string
    ids.py        action/callback/block ids; slack_io.py  escaping, splitting, posting, Slack errors
    user_groups.py  user-group membership at click time;  manifest.py  the app manifest from lanes.toml

Nothing here decides policy: who may do what, and what a run's status becomes, live in ``lanes``.
"""
