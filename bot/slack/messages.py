"""Every sentence the Slack app says to people, in one catalog.

Why one module: wording is product, reviewed in one place, and kept consistent between the ack,
the thread and the modals. Functions take raw values and escape everything that came from a
person or a model (``slack_io.escape``); only mentions built by ``slack_io.mention`` from lane
owners and the clicking user are live. Nothing here touches Slack or the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from bot.slack.slack_io import escape, mention

# --- the ack ----------------------------------------------------------------------------------


def ack_started(command: str, tier: str, model: str, why: str) -> str:
    return (
        f"Working on your `{command}` request: *{escape(tier)}* ({escape(model)}), because "
        f"{escape(why)}. The draft will appear in a thread in this channel."
    )


def ack_queued(command: str, tier: str, model: str, why: str, ahead: int) -> str:
    return (
        f"Your `{command}` request is queued: {ahead} run(s) ahead of it, all model workers busy. "
        f"It will run on *{escape(tier)}* ({escape(model)}), because {escape(why)}. "
        "The draft will appear in a thread in this channel."
    )


def ack_needs_confirmation(command: str, why: str) -> str:
    return (
        f"Your `{command}` request is over its lane's budget: {escape(why)}. "
        "It will be posted in this channel so an owner can choose to run it anyway."
    )


def ack_refused(command: str, running: int, waiting: int) -> str:
    return (
        f"lanebot is at capacity ({running} runs in progress, {waiting} waiting), so your `{command}` "
        "request was not started and nothing was sent to a model. Please try again in a few minutes."
    )


def ack_retry(command: str) -> str:
    return f"Already working on this `{command}` request (Slack delivered it twice); one run only."


def unknown_command(command: str, known: Iterable[str]) -> str:
    return (
        f"`{escape(command)}` is not a lane in this bot's lanes.toml. Lanes: "
        f"{', '.join(f'`{c}`' for c in known)}."
    )


def usage(command: str, description: str, max_chars: int) -> str:
    return (
        f"*{command}* — {escape(description)}\nUsage: `{command} <text>` (up to {max_chars:,} characters). "
        "Type `/lanes` to see every lane and its policy."
    )


def invalid_request(problem: str) -> str:
    return f"Nothing was run: {escape(problem)}"


# --- the thread -------------------------------------------------------------------------------


def root_text(lane: str, requester: str, request_excerpt: str) -> str:
    return f"*{escape(lane)}* request from {mention(requester)}:\n>{escape(request_excerpt)}"


def root_fallback(lane: str) -> str:
    return f"New {lane} request"


DRAFT_HEADER = "Draft for review"
DRAFT_HEADER_NEEDS_HUMAN = "Needs a human"
BUTTON_APPROVE = "Approve"
BUTTON_EDIT = "Edit"
BUTTON_REJECT = "Reject"
CONFIRM_REJECT_TITLE = "Reject this draft?"


def draft_fallback(lane: str) -> str:
    return f"Draft for review ({lane})"


def draft_header(model: str | None) -> str:
    return (
        f":information_source: *Draft from {escape(model or 'the model')}*, not yet approved. The quoted "
        "text is the model's, not lanebot's: only the line at the top of this message gives its status."
    )


def edited_header(editor: str) -> str:
    return (
        f":pencil2: *Edited by {mention(editor)}*, not yet final: one more approval is needed. The "
        "quoted text is their edit of the model's draft; it replaces the draft."
    )


def approved_header(editor: str | None) -> str:
    by = f", as edited by {mention(editor)}" if editor else ""
    return f":information_source: *Approved text*{by}, quoted below, ready to copy."


def reviewers_line(people: Iterable[str], two_person: bool, sensitive: Iterable[str] = ()) -> str:
    """Who reviews and how many must approve; names the sensitive patterns that raised it to two."""
    who = " ".join(mention(p) for p in people)
    if not who:
        return "Nobody can approve this lane's drafts yet: add owners to lanes.toml."
    rule = "two different approvers needed" if two_person else "one approval needed"
    patterns = [f"`{escape(pattern)}`" for pattern in sensitive]
    noun = "pattern" if len(patterns) == 1 else "patterns"
    why = f", because the request or draft matches the lane's sensitive {noun} {', '.join(patterns)}"
    why = why if patterns else ""
    return f"Review: {who} ({rule}{why})"


def reviewers_pending(people: Iterable[str], approved_by: Iterable[str]) -> str:
    """The reviewers line after 1 of 2: who may still approve, never the approvers."""
    done = set(approved_by)
    who = " ".join(mention(p) for p in people if p not in done) or "another owner or reviewer"
    return f"Review: {who} (one more approval needed, from a second, different person)"


def needs_human_line(message: str, failed_check: str | None) -> str:
    check = f" Check `{escape(failed_check)}` failed." if failed_check else ""
    return f":warning: *Needs a human.*{check} {escape(message)}"


def continued_note(part: int, total: int) -> str:
    return f"_Draft continued, part {part} of {total}._"


def file_note(chars: int) -> str:
    return (
        f"_This draft is {chars:,} characters, too long for Slack messages: the first part is above "
        "and the full text is in the attached file._"
    )


def file_comment(run_id: str) -> str:
    return f"Full draft of run {run_id}"


NO_EDIT_FOR_LONG = "This draft is too long to edit in Slack; use `lanebot decide RUN edit --text-file FILE`."
ALTERNATIVE_HEADER = "Models disagreed; candidate {index}:"


def failed_text(lane: str, message: str, people: Iterable[str], run_id: str) -> str:
    who = " ".join(mention(p) for p in people) or "the lane's owners (none are set in lanes.toml)"
    return (
        f":x: *The {escape(lane)} run failed; there is no draft.* {escape(message)}\n"
        f"Asking {who} to look. Details: `lanebot audit show {run_id}`"
    )


def failed_fallback(lane: str) -> str:
    return f"The {lane} run failed"


def confirmation_text(lane: str, message: str, owners: Iterable[str]) -> str:
    who = " ".join(mention(p) for p in owners) or "an owner (none are set in lanes.toml)"
    return (
        f":money_with_wings: *The {escape(lane)} run was not started: budget.* {escape(message)}\n"
        f"{who} can run it anyway."
    )


def usd(amount: float) -> str:
    return f"${amount:.2f}" if amount >= 0.01 else f"${amount:.4f}"


def run_anyway_button(model: str, estimate: float | None) -> str:
    cost = f" (about {usd(estimate)})" if estimate is not None else ""
    return f"Run anyway on {model}{cost}"[:75]


def run_anyway_confirmed(actor: str, tier: str, model: str) -> str:
    who = mention(actor)
    return f":arrow_forward: Run anyway confirmed by {who}: running on *{escape(tier)}* ({escape(model)})."


def run_anyway_already(actor: str | None) -> str:
    by = f" by {mention(actor)}" if actor else ""
    return f"Run anyway was already confirmed{by}; one run only."


def run_anyway_text_source(stored: bool) -> str:
    if stored:
        return (
            "_The original request text was no longer held by this bot instance, so the run uses the "
            "text as stored in the audit (redacted)._"
        )
    return ""


def run_anyway_no_text(command: str) -> str:
    return (
        f"The request text is not available (this lane stores no text and the bot restarted), so it "
        f"cannot be run anyway. Ask the requester to run `{command}` again."
    )


def audit_write_failed(lane: str) -> str:
    return (
        f":x: The {escape(lane)} run stopped: the audit store could not be written, so no draft can be "
        "shown (no log, no draft). An admin should check DATABASE_URL and the database."
    )


def unexpected_failure(lane: str, reference: str) -> str:
    return (
        f":x: The {escape(lane)} request hit an unexpected error in lanebot (reference `{reference}`) and "
        "no draft was posted. If its run had started, the audit trail shows it with its real status. "
        "Try again; an admin can find the details in the logs under that reference."
    )


def not_in_channel(command: str, channel: str, run_id: str) -> str:
    return (
        f"I can't post in <#{channel}> because I'm not a member. Invite me with `/invite @lanebot`, then "
        f"run `{command}` again. Nothing was sent to a model (run `{run_id}` recorded as failed)."
    )


def not_in_channel_error(channel: str) -> str:
    return f"bot is not in channel {channel}: invite it with /invite @lanebot"


def post_failed(run_id: str, error: str) -> str:
    return (
        f"Your draft (run `{run_id}`) could not be posted to Slack ({escape(error)}). It is in the "
        f"audit: `lanebot audit show {run_id}`."
    )


# --- decisions --------------------------------------------------------------------------------


def elapsed(delta: timedelta | None) -> str:
    """``2 min``, ``3 h 5 min``, ``2 days``: how long after the draft a decision came."""
    if delta is None:
        return ""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def _after(delta: timedelta | None) -> str:
    text = elapsed(delta)
    return f", {text} after the draft" if text else ""


def approved(actor: str, delta: timedelta | None, second: str | None = None) -> str:
    also = f" and {mention(second)}" if second else ""
    return f":white_check_mark: *Approved* by {mention(actor)}{also}{_after(delta)}. Ready to copy:"


def approved_edit(editor: str, approver: str, delta: timedelta | None, distance: int | None) -> str:
    """Two-person review completed on an earlier approver's edit."""
    dist = f" (edit distance {distance})" if distance is not None else ""
    return (
        f":pencil2: *Approved with edits*: edited by {mention(editor)}, approved by {mention(approver)}"
        f"{_after(delta)}{dist}. Ready to copy:"
    )


def edited(actor: str, delta: timedelta | None, distance: int | None, second: str | None = None) -> str:
    also = f" and {mention(second)}" if second else ""
    dist = f" (edit distance {distance})" if distance is not None else ""
    return f":pencil2: *Approved with edits* by {mention(actor)}{also}{_after(delta)}{dist}. Ready to copy:"


def rejected(actor: str, delta: timedelta | None, reason: str | None, note: str | None) -> str:
    why = f": {escape(reason)}" if reason else ""
    extra = f" — {escape(note.strip().rstrip('.'))}" if note and note.strip() else ""
    return (
        f":no_entry: *Rejected* by {mention(actor)}{_after(delta)}{why}{extra}. "
        "The draft was removed from this message; it stays in the audit."
    )


def partial_approval(actor: str, action: str) -> str:
    verb = "edited and approved" if action == "edit" else "approved"
    then = " the text below" if action == "edit" else ""
    return (
        f":ballot_box_with_check: {mention(actor)} {verb} (1 of 2). A second, different reviewer must "
        f"approve{then} before this draft is final."
    )


def draft_was_edited(editor: str | None) -> str:
    by = f" by {mention(editor)}" if editor else ""
    return (
        f"The draft was edited{by}; review the new text in the message, then decide. "
        "Nothing was recorded for this click."
    )


def form_not_yours() -> str:
    return "This form was opened by someone else, so nothing was recorded. Use the draft's own buttons."


def form_of_another_message() -> str:
    return (
        "This form does not belong to that run's draft message, so nothing was recorded. "
        "Use the buttons on the run's own draft message."
    )


def decision_fallback(status: str, lane: str) -> str:
    return f"{lane} draft {status}"


def already_decided(status: str, actor: str | None) -> str:
    by = f" by {mention(actor)}" if actor else ""
    return f"This draft is already {escape(status)}{by}."


def refused(action: str, reason: str) -> str:
    return f"You can't {action} this draft: {escape(reason)}"


def decision_failed(reference: str) -> str:
    return (
        f"Your decision could not be recorded (reference `{reference}`); nothing changed. Please try "
        "again in a moment."
    )


def run_not_found(action: str) -> str:
    return refused(action, "this run is not in the audit store this bot uses")


def modal_expired() -> str:
    return "That click took too long to reach me and Slack closed the window for it; please click again."


def modal_failed(code: str) -> str:
    return f"The form could not be opened ({escape(code)}); please click again."


def expired(timeout: str) -> str:
    return (
        f":hourglass: *Expired*: no decision within {escape(timeout)}. Not approved; the draft was removed "
        "from this message and stays in the audit. Run the command again if it is still needed."
    )


def reminder(people: Iterable[str], expires_at_unix: int, fallback_when: str) -> str:
    who = " ".join(mention(p) for p in people) or "Owners"
    return (
        f":alarm_clock: {who}: this draft is still waiting for review and expires "
        f"<!date^{expires_at_unix}^{{date_short_pretty}} at {{time}}|{fallback_when}>."
    )


# --- modals -----------------------------------------------------------------------------------

EDIT_TITLE = "Edit draft"
EDIT_SUBMIT = "Approve edited"
REJECT_TITLE = "Reject draft"
REJECT_SUBMIT = "Reject"
CANCEL = "Cancel"
REJECT_REASON_LABEL = "Reason"
REJECT_REASON_PLACEHOLDER = "Why is this draft rejected?"
REJECT_NOTE_LABEL = "Note (optional)"
EDIT_EMPTY = "The edited draft is empty; write the text to approve, or use Reject."
EDIT_INTRO = "Your edited text is recorded with its edit distance and counts as an approval with edits."


def edit_label(part: int, total: int) -> str:
    return "Draft" if total == 1 else f"Draft, part {part} of {total}"


# --- /lanes and /lanebot ----------------------------------------------------------------------

LANES_HEADER = "Lanes"
NO_LANES = "No lanes are configured in lanes.toml."
LANEBOT_HELP = (
    "*lanebot*\n"
    "• `/lanes`: every lane and its policy in plain language\n"
    "• `/lanebot audit lane:support status:approved since:2026-01-01 text:refund limit:20`: search the "
    "audit trail (lane owners only; filters: lane, status, model, requester, reviewer, since, until, "
    "text, limit)\n"
    "• each lane has its own command, e.g. `/support <text>`"
)
AUDIT_SEARCHING = "Searching the audit trail…"
AUDIT_RESULTS = "Audit trail search results"
"""The results' fallback text: it replaces the "Searching…" ack, so it must not say searching."""
AUDIT_OWNERS_ONLY = "Only lane owners can search the audit trail."


def audit_not_owner_of(lane: str) -> str:
    return f"You are not an owner of lane {escape(lane)}, so you can't search its runs."


def audit_bad_filters(problem: str) -> str:
    return f"{escape(problem)}\n\n{LANEBOT_HELP}"


def audit_header(count: int, filters: str) -> str:
    shown = f" matching `{escape(filters)}`" if filters else ""
    return f"*{count} run(s)*{shown}, newest first:" if count else f"No runs{shown}."


def unknown_subcommand(word: str) -> str:
    return f"Unknown `/lanebot {escape(word)}`.\n\n{LANEBOT_HELP}"


def mention_reply() -> str:
    return "Hi! Run a lane with its command (type `/lanes` to see them), or `/lanebot` for help."


def generic_error(reference: str) -> str:
    return (
        f"Something went wrong handling that (reference `{reference}`). It has been logged; try again, "
        "and tell an admin if it keeps happening."
    )


# --- recovery (bot.runtime.recovery) ------------------------------------------------------------------


def interrupted_error(instance: str, *, queued: bool = False) -> str:
    ended = "before the run started" if queued else "before the run finished"
    return f"interrupted: the bot instance running it ({instance}) stopped {ended}; no draft was made"


def interrupted(requester: str, lane: str, run_id: str, *, queued: bool = False) -> str:
    when = "before it could start on it" if queued else "while it was working on it"
    return (
        f":warning: {mention(requester)} your {escape(lane)} run `{run_id}` was interrupted: the bot "
        f"stopped {when}, so there is no draft and nothing was approved. Please send "
        f"the request again. (`lanebot audit show {run_id}`)"
    )


def delivered_late() -> str:
    return ":hourglass: Posted late: Slack was unreachable when this draft was ready."


def outcome_delivered_late(requester: str, lane: str, run_id: str, status: str, error: str | None) -> str:
    why = f": {escape(error)}" if error else ""
    return (
        f"{mention(requester)} your {escape(lane)} run `{run_id}` ended as *{escape(status)}*{why}. "
        f"Slack was unreachable at the time, so this is posted late. (`lanebot audit show {run_id}`)"
    )


def button_of_another_message() -> str:
    return (
        "That button does not belong to this message's run, so nothing was done. "
        "Use the buttons on the run's own draft message."
    )
