"""Pure Block Kit builders: values in, JSON-ready dicts out. No Slack calls, no database.

Tests assert on these dicts and validate every one with slack_sdk's Block Kit models (the Slack
stand-in does too, on every post). Text that came from a person or a model is escaped (and
cleaned of hidden characters) by the message catalog or here (``escape``); mrkdwn is
``verbatim`` so plain words like "@channel" are never turned into mentions; block ids come from
``bot.slack.ids`` so the listeners that read clicks and modal submissions back agree with what
was drawn.

A draft message is the one message whose buttons decide the run: its blocks are, in order, an
optional status line, an optional "needs a human" line, the frame (``bot.slack.draft_frame``: the
bot's line saying whose text follows, then the draft as a block quote), notes, the context line
(model, route and why, cost, latency, prompt version, fallback/escalation), the reviewers line
and the actions. ``decided_message`` rewrites exactly that layout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.slack import draft_frame, ids, messages
from bot.slack.safe_text import clean
from bot.slack.slack_io import SECTION_LIMIT, escape, mention, quote, split_text
from lanes.audit.records import RunRecord
from lanes.config import LaneConfig, LanesConfig
from lanes.estimates import cost_text, drafted_by, offline_line
from lanes.lifecycle import REJECT_REASONS
from lanes.policy import explain_lane
from lanes.values import RunResult

Block = dict[str, Any]
MAX_MESSAGE_BLOCKS = 50
EDIT_PART_LIMIT = 3_000
"""A plain_text_input holds at most 3,000 characters: longer drafts are edited in several parts."""


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(_clip(text))}
    if block_id:
        block["block_id"] = block_id
    return block


def context(parts: Sequence[str], block_id: str | None = None) -> Block:
    block: Block = {"type": "context", "elements": [mrkdwn(_clip(p, 2000)) for p in parts[:10]]}
    if block_id:
        block["block_id"] = block_id
    return block


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(label), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


# --- the draft message ------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftContext:
    """What the draft message says around the draft: who reviews, and how the text was laid out."""

    reviewers: tuple[str, ...]
    two_person: bool
    continued_parts: int = 1
    as_file: bool = False
    draft_chars: int = 0
    sensitive: tuple[str, ...] = ()
    """The lane's ``sensitive`` patterns that raised the review to two people (said on the draft)."""


@dataclass(frozen=True)
class RunContext:
    """The facts the context line shows, from a fresh ``RunResult`` or a stored ``RunRecord``."""

    run_id: str
    model: str | None
    route_kind: str | None
    route_why: str
    cost_usd: float | None
    cost_known: bool
    latency_ms: float | None
    prompt_id: str | None
    prompt_version: str | None
    fallback_reason: str | None
    escalation_reason: str | None
    cost_estimated: bool = False

    @classmethod
    def of_result(cls, result: RunResult) -> RunContext:
        return cls(
            result.run_id,
            result.model_answered or result.tier,
            result.route_kind,
            result.route.explain(),
            result.cost_usd,
            result.cost_known,
            result.latency_ms,
            result.prompt_id,
            result.prompt_version,
            result.fallback_reason,
            result.escalation_reason,
            result.cost_estimated,
        )

    @classmethod
    def of_record(cls, run: RunRecord) -> RunContext:
        return cls(
            run.id,
            run.model or run.tier,
            run.route_kind,
            "; ".join(run.route_reasons),
            run.cost_usd,
            run.cost_known,
            run.latency_ms,
            run.prompt_id,
            run.prompt_version,
            run.fallback_reason,
            run.escalation_reason,
            run.cost_estimated,
        )


def run_context(run: RunResult | RunContext) -> list[str]:
    """The context line's parts: model, route and why, cost, latency, prompt version, fallbacks."""
    facts = run if isinstance(run, RunContext) else RunContext.of_result(run)
    latency = f"{(facts.latency_ms or 0) / 1000:.1f} s"
    if facts.cost_estimated:
        model = escape(offline_line(facts.model, facts.cost_usd, facts.cost_known))
        timing = latency
    else:
        model = f"model *{escape(facts.model or 'none')}*"
        timing = f"{cost_text(facts.cost_usd, facts.cost_known)} · {latency}"
    parts = [
        model,
        f"route {escape(facts.route_kind or '-')}: {escape(facts.route_why)}",
        timing,
        f"prompt {escape(facts.prompt_id or '-')}@{escape(facts.prompt_version or '-')}",
    ]
    if facts.fallback_reason:
        parts.append(f"fallback: {escape(facts.fallback_reason)}")
    if facts.escalation_reason:
        parts.append(f"escalation: {escape(facts.escalation_reason)}")
    parts.append(f"run `{facts.run_id}`")
    return parts


def draft_message(result: RunResult, sections: Sequence[str], ctx: DraftContext) -> list[Block]:
    """The thread reply holding the (escaped) draft in its frame, the context line and
    Approve / Edit / Reject."""
    blocks: list[Block] = []
    if result.status == "needs_human":
        blocks.append(section(messages.needs_human_line(result.message, result.failed_check)))
    blocks += framed_draft(sections, drafted_by(result.model_answered or result.tier, result.cost_estimated))
    if ctx.as_file:
        blocks.append(context([messages.file_note(ctx.draft_chars)]))
    elif ctx.continued_parts > 1:
        blocks.append(context([messages.continued_note(1, ctx.continued_parts)]))
    blocks += _alternatives(result.alternatives, MAX_MESSAGE_BLOCKS - len(blocks) - 4)
    blocks.append(context(run_context(result), ids.DRAFT_CONTEXT_BLOCK))
    reviewers = messages.reviewers_line(ctx.reviewers, ctx.two_person, ctx.sensitive)
    blocks.append(section(reviewers, ids.DRAFT_REVIEWERS_BLOCK))
    blocks.append(decision_actions(result.run_id, editable=not ctx.as_file and ctx.continued_parts == 1))
    return blocks


def framed_draft(escaped_sections: Sequence[str], model: str | None) -> list[Block]:
    """A fresh model draft in its frame: "Draft from <model>, not yet approved", then the quote."""
    return [
        draft_frame.header(messages.draft_header(model), 0),
        *draft_frame.quoted_sections(escaped_sections),
    ]


def _alternatives(alternatives: Sequence[str], room: int) -> list[Block]:
    blocks: list[Block] = []
    for index, text in enumerate(alternatives[1:], start=2):
        if room - len(blocks) < 2:
            break
        blocks.append(context([messages.ALTERNATIVE_HEADER.format(index=index)]))
        blocks.append(section(draft_frame.quoted(text)))
    return blocks


def decision_actions(run_id: str, *, editable: bool = True) -> Block:
    elements = [button(messages.BUTTON_APPROVE, ids.APPROVE, run_id, "primary")]
    if editable:
        elements.append(button(messages.BUTTON_EDIT, ids.EDIT, run_id))
    elements.append(button(messages.BUTTON_REJECT, ids.REJECT, run_id, "danger"))
    return {"type": "actions", "block_id": ids.DRAFT_ACTIONS_BLOCK, "elements": elements}


def needs_human_without_draft(result: RunResult, lane: LaneConfig) -> list[Block]:
    """A run handed to people with no usable draft: what happened, who is asked, and Reject only."""
    two_person = result.review_rule == "two_person"
    return [
        section(messages.needs_human_line(result.message, result.failed_check)),
        context(run_context(result), ids.DRAFT_CONTEXT_BLOCK),
        section(
            messages.reviewers_line((*lane.owners, *lane.reviewers), two_person), ids.DRAFT_REVIEWERS_BLOCK
        ),
        {
            "type": "actions",
            "block_id": ids.DRAFT_ACTIONS_BLOCK,
            "elements": [button(messages.BUTTON_REJECT, ids.REJECT, result.run_id, "danger")],
        },
    ]


def continuation_message(sections: Sequence[str], part: int, total: int) -> list[Block]:
    """More of a long draft: its (escaped) sections, quoted like the first part."""
    blocks = [section(quote(text)) for text in sections]
    blocks.append(context([messages.continued_note(part, total)]))
    return blocks


def draft_text_from_blocks(blocks: Sequence[Block]) -> str | None:
    """The raw draft text a draft message shows (read back from a click payload), or None."""
    return draft_frame.draft_text(blocks)


# --- after a decision -------------------------------------------------------------------------


def decided_message(
    original: Sequence[Block],
    status_text: str,
    *,
    keep_actions: bool = False,
    replacement_text: str | None = None,
    header_text: str | None = None,
    edits: int = 0,
    reviewers_text: str | None = None,
) -> list[Block]:
    """The draft message rewritten from its own blocks: status first; the frame redrawn when its
    header or text changes (an edit replaces the draft); the buttons and reviewer mentions gone
    unless still pending, and then the reviewers line redrawn if given."""
    dropped = {ids.DRAFT_STATUS_BLOCK} | (
        set() if keep_actions else {ids.DRAFT_ACTIONS_BLOCK, ids.DRAFT_REVIEWERS_BLOCK}
    )
    frame = _new_frame(original, header_text, edits, replacement_text)
    kept: list[Block] = []
    for block in original:
        block_id = str(block.get("block_id", ""))
        if block_id in dropped:
            continue
        if frame is not None and draft_frame.is_frame(block):
            kept += frame
            frame = []
            continue
        if block_id == ids.DRAFT_REVIEWERS_BLOCK and reviewers_text is not None:
            block = section(reviewers_text, ids.DRAFT_REVIEWERS_BLOCK)
        kept.append(block)
    return [section(status_text, ids.DRAFT_STATUS_BLOCK), *kept][:MAX_MESSAGE_BLOCKS]


def _new_frame(
    original: Sequence[Block], header_text: str | None, edits: int, replacement_text: str | None
) -> list[Block] | None:
    if header_text is None and replacement_text is None:
        return None
    head = (
        [draft_frame.header(header_text, edits)]
        if header_text is not None
        else [b for b in original if str(b.get("block_id", "")).startswith(ids.DRAFT_HEADER_BLOCK)]
    )
    body = (
        draft_frame.text_blocks(replacement_text)
        if replacement_text is not None
        else [b for b in original if str(b.get("block_id", "")).startswith(ids.DRAFT_TEXT_BLOCK)]
    )
    return head + body


def text_sections(raw: str) -> list[Block]:
    """Raw text escaped, split and quoted as the draft's text sections."""
    return draft_frame.text_blocks(raw)


@dataclass(frozen=True)
class ShownText:
    """The frame of a decided or pending draft: the bot's line and the text under it."""

    header: str
    text: str | None
    edits: int = 0


def approved_message(
    status_text: str, shown: ShownText, facts: RunContext, original: Sequence[Block]
) -> list[Block]:
    """Approved (or approved with edits): the text stays, ready to copy; the buttons go.
    ``shown.text`` replaces the message's text when given (an edit)."""
    if original:
        return decided_message(
            original, status_text, replacement_text=shown.text, header_text=shown.header, edits=shown.edits
        )
    return [
        section(status_text, ids.DRAFT_STATUS_BLOCK),
        draft_frame.header(shown.header, shown.edits),
        *(text_sections(shown.text) if shown.text else []),
        context(run_context(facts), ids.DRAFT_CONTEXT_BLOCK),
    ]


def pending_message(
    run_id: str,
    status_text: str,
    shown: ShownText,
    facts: RunContext,
    original: Sequence[Block],
    reviewers_text: str,
) -> list[Block]:
    """One of two approvals given: the status says so, the text shown is the one to approve (an
    edit replaces the draft), the reviewers line names who is still asked, the buttons stay."""
    if original:
        return decided_message(
            original,
            status_text,
            keep_actions=True,
            replacement_text=shown.text,
            header_text=shown.header,
            edits=shown.edits,
            reviewers_text=reviewers_text,
        )
    body = text_sections(shown.text) if shown.text else []
    return [
        section(status_text, ids.DRAFT_STATUS_BLOCK),
        draft_frame.header(shown.header, shown.edits),
        *body,
        context(run_context(facts), ids.DRAFT_CONTEXT_BLOCK),
        section(reviewers_text, ids.DRAFT_REVIEWERS_BLOCK),
        decision_actions(run_id, editable=bool(shown.text) and len(body) <= 4),
    ]


def closed_message(status_text: str, facts: RunContext) -> list[Block]:
    """A rejected or expired draft: the status and the context line; the draft text is removed."""
    return [
        section(status_text, ids.DRAFT_STATUS_BLOCK),
        context(run_context(facts), ids.DRAFT_CONTEXT_BLOCK),
    ]


# --- failures and budget stops ----------------------------------------------------------------


def failed_message(result: RunResult, lane: LaneConfig) -> list[Block]:
    people = (*lane.owners, *lane.reviewers)
    blocks = [section(messages.failed_text(lane.name, result.message, people, result.run_id))]
    attempts = [
        f"{escape(a.kind)} {escape(a.tier)}: {escape(a.outcome)}"
        f"{' (' + escape(a.reason_code) + ')' if a.reason_code else ''}"
        for a in result.attempts
    ]
    if attempts:
        blocks.append(context(["attempts: " + "; ".join(attempts)]))
    blocks.append(context(run_context(result), ids.DRAFT_CONTEXT_BLOCK))
    return blocks


def confirmation_message(result: RunResult, lane: LaneConfig, model: str | None) -> list[Block]:
    """A budget stop, truthfully, with the owners' "run anyway on <model> (about $x)" button."""
    blocks = [
        section(messages.confirmation_text(lane.name, result.message or result.route.explain(), lane.owners))
    ]
    tier = result.route.confirm_tier
    if tier and model:
        value = json.dumps({"run": result.run_id, "tier": tier})
        label = messages.run_anyway_button(model, result.route.estimated_cost_usd)
        blocks.append(
            {
                "type": "actions",
                "block_id": ids.DRAFT_ACTIONS_BLOCK,
                "elements": [button(label, ids.RUN_ANYWAY, value)],
            }
        )
    blocks.append(context(run_context(result), ids.DRAFT_CONTEXT_BLOCK))
    return blocks


def plain_message(text: str) -> list[Block]:
    return [section(text)]


# --- modals -----------------------------------------------------------------------------------


def edit_modal(draft: str, metadata: str) -> dict[str, Any]:
    """Pre-filled with the draft (cleaned of hidden characters), in parts of at most 3,000
    characters (one text input each)."""
    draft = clean(draft)
    parts = split_text(draft, EDIT_PART_LIMIT - 100) if draft else [""]
    blocks: list[Block] = [section(messages.EDIT_INTRO)]
    for index, part in enumerate(parts):
        element: Block = {
            "type": "plain_text_input",
            "action_id": ids.EDIT_PART_INPUT,
            "multiline": True,
            "max_length": EDIT_PART_LIMIT,
        }
        if part:
            element["initial_value"] = part
        blocks.append(
            {
                "type": "input",
                "block_id": f"{ids.EDIT_PART_BLOCK}{index}",
                "optional": index > 0,
                "label": plain(messages.edit_label(index + 1, len(parts)), 2000),
                "element": element,
            }
        )
    return _modal(ids.EDIT_MODAL, messages.EDIT_TITLE, messages.EDIT_SUBMIT, blocks, metadata)


def reject_modal(metadata: str) -> dict[str, Any]:
    options = [{"text": plain(reason), "value": reason} for reason in REJECT_REASONS]
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": ids.REJECT_REASON_BLOCK,
            "label": plain(messages.REJECT_REASON_LABEL),
            "element": {
                "type": "static_select",
                "action_id": ids.REJECT_REASON_INPUT,
                "options": options,
                "placeholder": plain(messages.REJECT_REASON_PLACEHOLDER),
            },
        },
        {
            "type": "input",
            "block_id": ids.REJECT_NOTE_BLOCK,
            "optional": True,
            "label": plain(messages.REJECT_NOTE_LABEL),
            "element": {
                "type": "plain_text_input",
                "action_id": ids.REJECT_NOTE_INPUT,
                "multiline": True,
                "max_length": 2000,
            },
        },
    ]
    return _modal(ids.REJECT_MODAL, messages.REJECT_TITLE, messages.REJECT_SUBMIT, blocks, metadata)


def _modal(callback_id: str, title: str, submit: str, blocks: list[Block], metadata: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain(messages.CANCEL, 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def edited_text_from_view(view: Mapping[str, Any]) -> tuple[str, str]:
    """(edited text, the draft as shown in the modal) from a view_submission payload's view."""
    values = view.get("state", {}).get("values", {})
    edited, shown = [], []
    for block in view.get("blocks", []):
        block_id = str(block.get("block_id", ""))
        if not block_id.startswith(ids.EDIT_PART_BLOCK):
            continue
        shown.append(str(block.get("element", {}).get("initial_value") or ""))
        edited.append(str(values.get(block_id, {}).get(ids.EDIT_PART_INPUT, {}).get("value") or ""))
    return "".join(edited), "".join(shown)


def rejection_from_view(view: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(reason, note) from a submitted Reject modal."""
    values = view.get("state", {}).get("values", {})
    selected = values.get(ids.REJECT_REASON_BLOCK, {}).get(ids.REJECT_REASON_INPUT, {}).get("selected_option")
    note = values.get(ids.REJECT_NOTE_BLOCK, {}).get(ids.REJECT_NOTE_INPUT, {}).get("value")
    return (str(selected["value"]) if selected else None), (str(note).strip() or None if note else None)


def first_edit_block() -> str:
    return f"{ids.EDIT_PART_BLOCK}0"


# --- /lanes and /lanebot audit ----------------------------------------------------------------


def lanes_blocks(config: LanesConfig) -> list[Block]:
    if not config.lanes:
        return [section(messages.NO_LANES)]
    blocks: list[Block] = [{"type": "header", "text": plain(messages.LANES_HEADER, 150)}]
    for lane in config.lanes.values():
        rows = [f"*{lane.command}* — {escape(lane.description)}"]
        for label, sentence in explain_lane(lane, config.models):
            rows.append(f"• {label}: {_people(lane, label) or escape(sentence)}")
        blocks.append(section("\n".join(rows)))
        if len(blocks) >= MAX_MESSAGE_BLOCKS - 1:
            break
    return blocks


def _people(lane: LaneConfig, label: str) -> str:
    ids_ = {"owners": lane.owners, "reviewers": lane.reviewers}.get(label)
    return " ".join(mention(i) for i in ids_) if ids_ else ""


def audit_blocks(header: str, lines: Sequence[str]) -> list[Block]:
    """Search results: a header line, then the result lines packed into sections."""
    blocks = [section(header)]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_LIMIT:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks[:MAX_MESSAGE_BLOCKS]
