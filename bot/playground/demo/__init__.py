"""Demo history for the playground: eight weeks of a team's runs, made by lanebot itself.

``lanebot playground --demo`` opens the playground on a separate, clearly labelled store, seeded
so the digest, ``/lanebot audit`` and the chart have something true to show on first open:

    location.py         the demo store's file, beside the audit store, "demo" in its name
    catalogue.py        what the demo team asks each lane, and who asks
    schedule.py         when: eight ISO weeks ending now, growing week by week, with planned faults
    scripted_faults.py  the offline sample with scripted timeouts, bad drafts and refusals
    seeding_clock.py    the clock the engine and the decision service read while seeding
    review_plan.py      approve, edit or reject, by one or two people, some time after the draft
    seed.py             runs every request through the engine and every decision through the service
"""

from __future__ import annotations

from bot.playground.demo.location import demo_database_url, demo_file
from bot.playground.demo.seed import SeedReport, seed_demo_history

__all__ = ["SeedReport", "demo_database_url", "demo_file", "seed_demo_history"]
