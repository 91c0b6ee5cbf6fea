"""``./quickstart``, the README's first command, runs as a new team would run it (without a terminal
it stops before the playground and says how to open it; ``lanebot playground --demo`` itself is run
by ``tests/test_documented_commands.py``).

It runs in this checkout, where ``scripts/setup`` finds ``.venv`` up to date and returns at once; on
a fresh clone the same script creates it first (the CI run does exactly that).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart_checks_the_lanes_runs_one_offline_and_says_what_is_next(tmp_path: Path) -> None:
    keep = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
    keep.pop("LANEBOT_CONFIG", None)
    env = {**keep, "DATABASE_URL": f"sqlite:///{tmp_path / 'quickstart.db'}"}

    done = subprocess.run(
        [str(ROOT / "quickstart")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "support" in out and "contract" in out and "code" in out  # lanebot check's lanes
    assert "== Running the support lane on the offline sample model ==" in out
    assert "offline sample" in out and "would have used" in out
    assert "Traceback" not in out + done.stderr
    assert "Next: .venv/bin/lanebot playground --demo" in out
    assert (tmp_path / "quickstart.db").exists(), "the run is on record in the audit store it was given"
