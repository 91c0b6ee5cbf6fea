"""``lanebot policy log|show|diff``: every lanes.toml the bot has run under, and what changed.

Each distinct policy is stored once when a process first routes under it (``lanes.policy_text``:
canonical text, secrets scrubbed, keyed by its sha256); every run points at it. ``diff`` takes
two stored hashes (or prefixes), or a hash and a lanes.toml path, and prints the settings that
changed and a unified diff of the canonical texts.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
from pathlib import Path
from typing import Any

from bot.runtime.core import database_url, open_store
from lanes.audit import PolicyEntry
from lanes.config import load_config
from lanes.errors import InvalidRequestError
from lanes.policy_text import changed_settings, policy_snapshot
from storage.redaction import scrub_secrets
from storage.store import AuditStore


def cmd_policy(args: argparse.Namespace) -> int:
    wanted = {"log": 0, "show": 1, "diff": 2}[args.action]
    if len(args.refs) != wanted:
        usage = {
            "log": "lanebot policy log",
            "show": "lanebot policy show HASH",
            "diff": "lanebot policy diff OLD NEW",
        }
        raise InvalidRequestError(f"use `{usage[args.action]}`; hashes come from `lanebot policy log`")
    return {"log": cmd_policy_log, "show": cmd_policy_show, "diff": cmd_policy_diff}[args.action](args)


def cmd_policy_log(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        entries = store.policies()
    finally:
        store.engine.dispose()
    if args.json:
        print(json.dumps([entry_json(e) for e in entries], indent=2))
        return 0
    print(render_log(entries))
    return 0


def render_log(entries: list[PolicyEntry]) -> str:
    if not entries:
        return "no policy recorded yet: one is stored when a process first runs a lane"
    lines = [
        f"{'policy':<12}  {'first loaded (UTC)':<19}  {'by':<16}  {'runs':>7}  {'last run (UTC)':<19}  source"
    ]
    previous: PolicyEntry | None = None
    for entry in entries:
        last = _when(entry.last_run_at) if entry.last_run_at else "-"
        lines.append(
            f"{entry.short:<12}  {_when(entry.first_loaded_at):<19}  {entry.loaded_by[:16]:<16}  "
            f"{entry.runs:>7,}  {last:<19}  {entry.source}"
        )
        previous = entry
    if previous is not None and len(entries) > 1:
        lines.append(f"\nWhat changed: lanebot policy diff {entries[-2].short} {entries[-1].short}")
    return "\n".join(lines)


def cmd_policy_show(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        entry = store.get_policy(args.refs[0])
    finally:
        store.engine.dispose()
    print(f"# policy {entry.hash}\n# first loaded {_when(entry.first_loaded_at)} UTC by {entry.loaded_by}")
    print(entry.text or "", end="")
    return 0


def cmd_policy_diff(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        old_label, old_text = _policy_text(store, args.refs[0])
        new_label, new_text = _policy_text(store, args.refs[1])
    finally:
        store.engine.dispose()
    print(render_diff(old_label, old_text, new_label, new_text))
    return 0


def render_diff(old_label: str, old_text: str, new_label: str, new_text: str) -> str:
    changes = changed_settings(old_text, new_text)
    if not changes:
        return f"{old_label} and {new_label}: no setting differs"
    lines = [
        f"{len(changes)} setting{'s' if len(changes) != 1 else ''} changed from {old_label} to {new_label}:"
    ]
    lines += [f"  {change}" for change in changes]
    unified = difflib.unified_diff(
        old_text.splitlines(), new_text.splitlines(), fromfile=old_label, tofile=new_label, lineterm=""
    )
    return "\n".join([*lines, "", *unified])


def _policy_text(store: AuditStore, ref: str) -> tuple[str, str]:
    """A stored policy by hash prefix, or a lanes.toml on disk (rendered the way runs record it)."""
    path = Path(ref)
    if path.suffix == ".toml" or path.is_file():
        snapshot = policy_snapshot(load_config(path), lambda text: scrub_secrets(text).text)
        return f"{path} ({snapshot.short})", snapshot.text
    entry = store.get_policy(ref)
    return f"policy {entry.short} (first loaded {_when(entry.first_loaded_at)})", entry.text or ""


def entry_json(entry: PolicyEntry) -> dict[str, Any]:
    return {
        "hash": entry.hash,
        "source": entry.source,
        "first_loaded_at": entry.first_loaded_at.isoformat(),
        "loaded_by": entry.loaded_by,
        "runs": entry.runs,
        "first_run_at": entry.first_run_at.isoformat() if entry.first_run_at else None,
        "last_run_at": entry.last_run_at.isoformat() if entry.last_run_at else None,
    }


def _store(args: argparse.Namespace) -> AuditStore:
    return open_store(database_url(args.database_url, os.environ))


def _when(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%d %H:%M:%S"))
