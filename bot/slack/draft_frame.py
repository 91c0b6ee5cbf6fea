"""The frame around model text: a line saying whose text it is, then the text as a block quote.

A model can write anything, including lanebot's own status line (":white_check_mark: *Approved*
by @owner"); issue 10 showed a draft passing for the bot's words. So model text (and a person's
edit of it) is never laid out like the bot's own lines:

- it sits under a context line of the bot's (``header``): "Draft from <model>, not yet
  approved", "Edited by @x, one more approval needed", "Approved text";
- every line of it is quoted (``slack_io.quote``), so it shows with Slack's quote bar, and it is
  escaped and cleaned of hidden characters (``slack_io.escape``), so it pings nobody and nothing
  in it can end the quote or reorder what is displayed;
- the bot's status lines are the first block of the message, outside any quote, a position the
  draft cannot reach.

The header's block id also records how many edits by earlier approvers the shown text holds
(``ids.DRAFT_HEADER_BLOCK`` + number), so a click on a message that still showed older text is
recognised (two-person review: "the draft was edited by X; review the new text").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack import ids
from bot.slack.slack_io import SECTION_LIMIT, escape, quote, quoted_len, split_text, unescape, unquote

Block = dict[str, Any]


def header(text: str, edits: int) -> Block:
    """The bot's line above the draft; ``edits`` is recorded in its block id."""
    return {
        "type": "context",
        "block_id": f"{ids.DRAFT_HEADER_BLOCK}{edits}",
        "elements": [{"type": "mrkdwn", "text": text[:2000], "verbatim": True}],
    }


def quoted_sections(escaped_parts: Sequence[str]) -> list[Block]:
    """Escaped parts (each sized with ``quoted_len``) as the draft's quoted sections."""
    return [
        {
            "type": "section",
            "block_id": f"{ids.DRAFT_TEXT_BLOCK}{i}",
            "text": {"type": "mrkdwn", "text": _clip(quote(part)), "verbatim": True},
        }
        for i, part in enumerate(escaped_parts)
    ]


def text_blocks(raw: str) -> list[Block]:
    """Raw text (a person's edit, a stored draft) escaped, split and quoted."""
    return quoted_sections(split_text(escape(raw), measure=quoted_len))


def quoted(raw: str) -> str:
    """Raw text escaped and quoted in one mrkdwn string (a model's alternative candidate)."""
    return _clip(quote(escape(raw)))


def draft_text(blocks: Sequence[Block]) -> str | None:
    """The raw text a draft message shows (read back from a click payload), or None."""
    texts = [
        unquote(str(b["text"].get("text", "")))
        for b in blocks
        if str(b.get("block_id", "")).startswith(ids.DRAFT_TEXT_BLOCK) and isinstance(b.get("text"), dict)
    ]
    return unescape("".join(texts)) if texts else None


def shown_edits(blocks: Sequence[Block]) -> int:
    """How many earlier edits the text of a draft message held when it was drawn (0 if unsaid)."""
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block_id.startswith(ids.DRAFT_HEADER_BLOCK):
            suffix = block_id[len(ids.DRAFT_HEADER_BLOCK) :]
            return int(suffix) if suffix.isascii() and suffix.isdigit() else 0
    return 0


def is_frame(block: Block) -> bool:
    """The header or a text section of the frame (replaced whole when the text changes)."""
    block_id = str(block.get("block_id", ""))
    return block_id.startswith((ids.DRAFT_HEADER_BLOCK, ids.DRAFT_TEXT_BLOCK))


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
