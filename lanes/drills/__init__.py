"""Fire drills for the fallback paths: ``run_drill`` over a lanes.toml, no real model call.

faults.py      fake model endpoints (down or answering) and an audit log that refuses writes
samples.py     a draft that passes a lane's checks, and drafts each check must stop
scenarios.py   the paths, one function each, and ``run_drill``
"""

from lanes.drills.scenarios import LABELS, PATHS, PathResult, run_drill

__all__ = ["LABELS", "PATHS", "PathResult", "run_drill"]
