"""Changing policy safely: golden sets, their scoring and runner, and route replay.

golden.py     the golden set file format (JSONL, validated like lanes.toml)
harvest.py    examples from human decisions in the audit store
scoring.py    one example's run, scored deterministically
runner.py     ``lanebot eval``: golden sets through a policy, under a spend cap
replay.py     ``lanebot routes diff``: recorded route inputs through a candidate's ``route``
"""
