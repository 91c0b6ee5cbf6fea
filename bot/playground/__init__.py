"""``lanebot playground``: the real bot driven through a local stand-in for Slack, in a browser.

server.py   Playground (stand-in + bot + page, all on 127.0.0.1) and run_playground (the CLI)
mode.py     offline sample model or the real models of lanes.toml, chosen from the environment
install.py  the app as its manifest installs it; people, roles and the four personas
slackbot.py what Slack does with typed text, and Slackbot's own answers
api.py      the page's JSON endpoints, turned into signed Slack requests by SlackSimulator
digest.py   "open this week's digest": built by bot.digest, posted by the bot, chart in thread
web.py      the HTTP server for the page and the endpoints
demo/       ``--demo``: a separate store seeded with eight weeks of runs made through the engine
demo_notice.py  seeds it for the playground, and says on the page that it is demo data
static/     index.html, app.js, app.css: a Slack-like channel, no build step
"""

from bot.playground.server import Playground, run_playground

__all__ = ["Playground", "run_playground"]
