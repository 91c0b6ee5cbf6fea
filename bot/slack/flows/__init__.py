"""The Slack app's flows: what happens between a payload and the messages the bot posts.

Listeners (``bot.slack.listeners``) stay thin and call one function here; these functions call the
Slack-free core (``lanes``, ``storage``) and render with ``bot.slack.views`` and ``bot.slack.messages``.
"""
