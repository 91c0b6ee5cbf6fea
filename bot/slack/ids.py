"""Action, callback and block ids: the names Slack sends back when someone clicks or submits.

One module of constants so a view builder and the listener that handles its clicks cannot drift
apart. They are part of messages already posted in channels: renaming one orphans the buttons on
every draft still waiting for review, so add new ids rather than renaming old ones.
"""

from __future__ import annotations

APPROVE = "lanebot_approve"
EDIT = "lanebot_edit"
REJECT = "lanebot_reject"
RUN_ANYWAY = "lanebot_run_anyway"

EDIT_MODAL = "lanebot_edit_modal"
REJECT_MODAL = "lanebot_reject_modal"

EDIT_PART_BLOCK = "lanebot_edit_part_"
"""Prefix of the edit modal's input blocks: ``lanebot_edit_part_0``, ``..._1``... (a draft longer
than one text input, 3,000 characters, is edited in several parts)."""
EDIT_PART_INPUT = "edited_text"
REJECT_REASON_BLOCK = "lanebot_reject_reason"
REJECT_REASON_INPUT = "reason"
REJECT_NOTE_BLOCK = "lanebot_reject_note"
REJECT_NOTE_INPUT = "note"

DRAFT_ACTIONS_BLOCK = "lanebot_draft_actions"
DRAFT_HEADER_BLOCK = "lanebot_draft_header_v"
"""Prefix of the context line above the draft text ("Draft from <model>, not yet approved"); the
number after it counts the edits by earlier approvers that the shown text holds, so a click on a
message showing older text is recognised (two-person review)."""
DRAFT_TEXT_BLOCK = "lanebot_draft_text_"
"""Prefix of the section blocks holding the draft text, in order: read back to pre-fill Edit."""
DRAFT_CONTEXT_BLOCK = "lanebot_draft_context"
DRAFT_STATUS_BLOCK = "lanebot_draft_status"
DRAFT_REVIEWERS_BLOCK = "lanebot_draft_reviewers"

DECISION_ACTIONS: tuple[str, ...] = (APPROVE, EDIT, REJECT)
BUTTONS: frozenset[str] = frozenset({*DECISION_ACTIONS, RUN_ANYWAY})
MODALS: frozenset[str] = frozenset({EDIT_MODAL, REJECT_MODAL})
