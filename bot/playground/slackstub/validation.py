"""Block Kit checks with slack_sdk's own models, plus the limits Slack enforces on whole surfaces.

slack_sdk's models know each block's field limits (a section's text ≤ 3000 chars, a button label
≤ 75), but not surface-wide rules: ≤ 50 blocks in a message, ≤ 100 in a modal, unique block ids,
40,000 chars of message text. A bot that breaks any of these works in unit tests and fails in Slack,
which is exactly what this stand-in exists to catch. Every function returns a list of problems in
Slack's ``[ERROR] ...`` style; empty means valid.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.playground.slackstub.models import JsonDict, StubError

MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000


def decode_json_param(value: Any, *, error: str) -> Any:
    """Form-encoded calls carry ``blocks``/``view`` as JSON strings, JSON calls as objects."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:
        raise StubError(error, f"not valid JSON: {e.msg}") from e


def block_problems(blocks: Any, *, limit: int) -> list[str]:
    if not isinstance(blocks, list):
        return ["[ERROR] blocks must be an array"]
    problems = (
        [] if len(blocks) <= limit else [f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]"]
    )
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        problems += [f"{p} [json-pointer:/blocks/{i}]" for p in _one_block(block)]
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id and block_id in seen:
            problems.append(f"[ERROR] duplicate block_id {block_id!r} [json-pointer:/blocks/{i}/block_id]")
        if block_id:
            seen.add(block_id)
    return problems


def _one_block(block: Any) -> list[str]:
    if not isinstance(block, dict) or "type" not in block:
        return ["[ERROR] each block must be an object with a type"]
    try:
        parsed = Block.parse(block)  # logs a warning and returns None for unknown types
        if parsed is None:
            return [f"[ERROR] unsupported block type {block['type']!r}"]
        parsed.to_dict()  # validates nested elements too; validate_json() checks one level
    except SlackObjectFormationError as e:
        return [f"[ERROR] {e}"]
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        return [f"[ERROR] malformed {block.get('type')} block: {e}"]
    return []


def check_message(text: Any, blocks: Any) -> None:
    """Raise what chat.postMessage/update would: ``msg_too_long``, ``invalid_blocks``."""
    if text is not None and len(str(text)) > MAX_MESSAGE_TEXT:
        raise StubError("msg_too_long")
    if blocks is not None:
        problems = block_problems(blocks, limit=MAX_MESSAGE_BLOCKS)
        if problems:
            raise StubError("invalid_blocks", *problems)


def check_view(view: Any) -> JsonDict:
    """Validate a modal with slack_sdk's ``View`` and Slack's 100-block limit (``invalid_arguments``)."""
    if not isinstance(view, dict):
        raise StubError("invalid_arguments", "[ERROR] view must be an object [json-pointer:/view]")
    problems = block_problems(view.get("blocks", []), limit=MAX_MODAL_BLOCKS)
    try:
        View(**view).to_dict()
    except SlackObjectFormationError as e:
        problems.append(f"[ERROR] {e} [json-pointer:/view]")
    except (TypeError, ValueError, AttributeError) as e:
        problems.append(f"[ERROR] malformed view: {e} [json-pointer:/view]")
    if problems:
        raise StubError("invalid_arguments", *problems)
    return view
