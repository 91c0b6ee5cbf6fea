"""Weekly digests for managers: is routing paying off? Computed from the audit store alone.

weeks.py      ISO weeks in the digest's timezone → UTC ranges; the slot a digest is due
build.py      build_digest(): runs the SQL aggregates (storage.digest_queries), assembles a Digest
report.py     the Digest's frozen dataclasses, rates, premium-creep alerts, headline sentences
render.py     render_text / render_json / render_blocks: pure builders over a Digest
chart.py      render_chart(): PNG of 8 weeks of spend and rework per lane (matplotlib, Agg)
post.py       post_digest(): claim the (channel, week), post, mark posted, chart into the thread
scheduler.py  BotScheduler: digest slot + catch-up, review reminders, expiry sweep
"""

from bot.digest.build import build_digest
from bot.digest.chart import render_chart
from bot.digest.post import post_digest
from bot.digest.render import render_blocks, render_json, render_summary, render_text
from bot.digest.report import Digest
from bot.digest.scheduler import BotScheduler, ScheduleSettings
from bot.digest.weeks import IsoWeek, parse_iso_week

__all__ = [
    "BotScheduler",
    "Digest",
    "IsoWeek",
    "ScheduleSettings",
    "build_digest",
    "parse_iso_week",
    "post_digest",
    "render_blocks",
    "render_chart",
    "render_json",
    "render_summary",
    "render_text",
]
