"""What a click or a modal submission carries for each kind of Block Kit element.

Slack reports a select as ``selected_option`` (the whole option object), a user picker as
``selected_user``, a text input as ``value``, and so on. Tests and the playground should be able to
say "pick `approve`" or "type `hello`" and get exactly the object Slack would send, so this module
owns that table. It also refuses what a person could not do in Slack: clicking an element that is
not in the message, choosing an option that is not offered, submitting a required input empty.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.playground.slackstub.models import JsonDict

# element type -> (state key, how the value is given)
_VALUE_KEYS: Mapping[str, tuple[str, str]] = {
    "static_select": ("selected_option", "option"),
    "external_select": ("selected_option", "option"),
    "overflow": ("selected_option", "option"),
    "radio_buttons": ("selected_option", "option"),
    "multi_static_select": ("selected_options", "options"),
    "multi_external_select": ("selected_options", "options"),
    "checkboxes": ("selected_options", "options"),
    "users_select": ("selected_user", "raw"),
    "multi_users_select": ("selected_users", "list"),
    "conversations_select": ("selected_conversation", "raw"),
    "multi_conversations_select": ("selected_conversations", "list"),
    "channels_select": ("selected_channel", "raw"),
    "multi_channels_select": ("selected_channels", "list"),
    "datepicker": ("selected_date", "raw"),
    "timepicker": ("selected_time", "raw"),
    "datetimepicker": ("selected_date_time", "raw"),
    "plain_text_input": ("value", "raw"),
    "number_input": ("value", "raw"),
    "email_text_input": ("value", "raw"),
    "url_text_input": ("value", "raw"),
    "rich_text_input": ("rich_text_value", "raw"),
}


def with_block_ids(blocks: Sequence[JsonDict]) -> tuple[JsonDict, ...]:
    """Give every block a ``block_id`` as Slack does on post; deterministic, so tests can rely on it."""
    out = []
    for index, block in enumerate(blocks):
        block = copy.deepcopy(block)
        if isinstance(block, dict) and not block.get("block_id"):
            digest = hashlib.sha256(f"{index}:{json.dumps(block, sort_keys=True)}".encode()).hexdigest()
            block["block_id"] = digest[:5]
        out.append(block)
    return tuple(out)


def _elements(block: JsonDict) -> Iterator[JsonDict]:
    kind = block.get("type")
    if kind in ("actions", "context_actions"):
        yield from (e for e in block.get("elements", []) if isinstance(e, dict))
    elif kind == "section" and isinstance(block.get("accessory"), dict):
        yield block["accessory"]
    elif kind == "input" and isinstance(block.get("element"), dict):
        yield block["element"]


def find_element(
    blocks: Sequence[JsonDict], action_id: str, block_id: str | None = None
) -> tuple[str, JsonDict]:
    """The (block_id, element) a person would click; ``LookupError`` names what *is* clickable."""
    available = []
    for block in blocks:
        for element in _elements(block):
            available.append(f"{block.get('block_id')}/{element.get('action_id')}")
            if element.get("action_id") == action_id and block_id in (None, block.get("block_id")):
                return str(block.get("block_id")), element
    raise LookupError(f"no element with action_id {action_id!r} (block {block_id!r}); clickable: {available}")


def action_for_element(element: JsonDict, block_id: str, value: Any, *, action_ts: str) -> JsonDict:
    """The ``actions[0]`` entry of a block_actions payload for one interaction with ``element``."""
    kind = str(element.get("type"))
    action: JsonDict = {"type": kind, "action_id": element.get("action_id"), "block_id": block_id}
    if kind == "button":
        action["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
    elif kind in _VALUE_KEYS:
        action.update(_typed(element, value))
    elif value is not None:
        action["value"] = value
    action["action_ts"] = action_ts
    return action


def _typed(element: JsonDict, value: Any) -> JsonDict:
    key, how = _VALUE_KEYS[str(element.get("type"))]
    if how == "option":
        return {key: _option(element, value)}
    if how == "options":
        return {key: [_option(element, v) for v in value or []]}
    if how == "list":
        return {key: list(value or [])}
    return {key: value}


def _option(element: JsonDict, value: Any) -> JsonDict:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options", [])
    for option in options:
        if option.get("value") == value:
            return copy.deepcopy(option)
    if element.get("type") in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": str(value)}, "value": value}
    offered = [o.get("value") for o in options]
    raise LookupError(f"{element.get('action_id')!r} offers no option {value!r}; offered: {offered}")


def view_state(blocks: Sequence[JsonDict], values: Mapping[str, Mapping[str, Any]]) -> JsonDict:
    """``view.state.values`` for a submission: given values over initial ones, typed per element."""
    state: JsonDict = {}
    known: set[tuple[str, str]] = set()
    for block in blocks:
        block_id = str(block.get("block_id"))
        for element in _elements(block):
            action_id = str(element.get("action_id"))
            known.add((block_id, action_id))
            given = values.get(block_id, {})
            if action_id in given:
                entry = _state_entry(element, given[action_id])
            elif block.get("type") == "input":
                entry = _initial_entry(element)
            else:
                continue
            if block.get("type") == "input" and not block.get("optional") and _is_empty(entry):
                raise ValueError(f"input {block_id}/{action_id} is required: Slack would not submit it empty")
            state.setdefault(block_id, {})[action_id] = entry
    unknown = [f"{b}/{a}" for b, acts in values.items() for a in acts if (b, a) not in known]
    if unknown:
        raise LookupError(f"the view has no inputs {unknown}; it has {sorted(f'{b}/{a}' for b, a in known)}")
    return state


def _state_entry(element: JsonDict, value: Any) -> JsonDict:
    if isinstance(value, Mapping) and "type" in value:
        return dict(value)
    kind = str(element.get("type"))
    typed = _typed(element, value) if kind in _VALUE_KEYS else {"value": value}
    return {"type": kind, **typed}


def _initial_entry(element: JsonDict) -> JsonDict:
    kind = str(element.get("type"))
    key = _VALUE_KEYS.get(kind, ("value", "raw"))[0]
    initial_key = key.replace("selected_", "initial_") if key.startswith("selected_") else "initial_value"
    return {"type": kind, key: copy.deepcopy(element.get(initial_key))}


def _is_empty(entry: Mapping[str, Any]) -> bool:
    return all(v in (None, "", []) for k, v in entry.items() if k != "type")
