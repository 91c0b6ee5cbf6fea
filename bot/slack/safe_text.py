"""Untrusted text made safe to show: no hidden characters, nothing a database or Slack refuses.

Requests, drafts, edits and notes are written by people and models; before any of it is posted,
``clean`` removes what a reader cannot see but a renderer obeys:

- **Bidirectional controls** (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) reorder what
  is displayed, so "approve ‮nur‬" can read differently from the bytes a reviewer approves
  ("Trojan Source").
- **Invisible and format characters**: zero-width spaces and joiners (U+200B–U+200D), word
  joiner and invisible operators (U+2060–U+2064), the BOM (U+FEFF), the soft hyphen (U+00AD),
  tag characters (U+E0000–U+E007F, used to smuggle text past a reader), Hangul fillers, the
  interlinear annotation marks, C1 controls, and every other Unicode "format" (Cf) character.
  They hide text inside words ("Appr\u200boved") and defeat the escaping and matching that the
  rest of the bot does. Two exceptions keep emoji whole: a zero-width joiner *between two emoji*
  (👩‍💻) and a variation selector *after an emoji* (❤️) stay.
- **Text no store or Slack takes**: lone surrogates and NUL/C0 controls, repaired the one way the
  whole bot repairs them (``lanes.audit.text.storable_text``).

Line and paragraph separators (U+2028/U+2029) become newlines. Everything else, every script,
emoji and combining mark, passes untouched; ``clean`` is idempotent.
"""

from __future__ import annotations

import re
import unicodedata

from lanes.audit.text import storable_text

_ZWJ = "\u200d"
_EMOJI_PRESENTATION = "\ufe0e\ufe0f"
_NEWLINES = "\u2028\u2029\u0085"
_HIDDEN = re.compile(
    "["
    "\u0080-\u009f"  # C1 controls (NEL is turned into a newline first)
    "\u00ad\u034f\u061c\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef"
    "]"
)
_KEYCAP_BASES = frozenset("0123456789#*")


def clean(text: str) -> str:
    """``text`` without hidden or unstorable characters (see the module docstring)."""
    text, _ = storable_text(text)
    if any(ch in text for ch in _NEWLINES):
        text = text.translate({ord(ch): "\n" for ch in _NEWLINES})
    if _HIDDEN.search(text) is None:
        return text
    return _HIDDEN.sub(lambda m: _keep_or_drop(m, text), text)


def hidden_characters(text: str) -> list[str]:
    """The characters ``clean`` would remove, as ``U+XXXX`` names (for tests and logs)."""
    return [f"U+{ord(ch):04X}" for ch in text if ch not in clean(ch)]


def _keep_or_drop(match: re.Match[str], text: str) -> str:
    ch, at = match.group(), match.start()
    before = text[at - 1] if at > 0 else ""
    if ch in _EMOJI_PRESENTATION and (_is_emoji(before) or before in _KEYCAP_BASES):
        return ch
    if ch == _ZWJ and _joins_emoji(text, at):
        return ch
    return ""


def _joins_emoji(text: str, at: int) -> bool:
    """A ZWJ inside an emoji sequence: an emoji (with its modifiers) before it, an emoji after it."""
    after = text[at + 1] if at + 1 < len(text) else ""
    back = at - 1
    while back >= 0 and (text[back] in _EMOJI_PRESENTATION or _is_skin_tone(text[back])):
        back -= 1
    return back >= 0 and _is_emoji(text[back]) and _is_emoji(after)


def _is_emoji(ch: str) -> bool:
    if not ch:
        return False
    code = ord(ch)
    return 0x1F000 <= code <= 0x1FAFF or unicodedata.category(ch) == "So"


def _is_skin_tone(ch: str) -> bool:
    return 0x1F3FB <= ord(ch) <= 0x1F3FF
