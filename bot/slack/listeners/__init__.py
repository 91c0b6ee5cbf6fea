"""Bolt listeners: each acks, parses the payload into a typed request, calls one flow, renders.

The listener functions are built by small factories that close over ``Services`` and are all
registered by ``bot.slack.app.build_app``; nothing here registers itself or runs at import time.
"""
