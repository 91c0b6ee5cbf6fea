"""The built-in offline sample model: lanebot runs end to end with no API keys and no network.

It is not a language model and never pretends to be one. Every text draft opens with
``BANNER`` and reports ``model_answered = "offline-sample"``, so a reviewer, the audit trail and
the digest all see what produced it. It exists so a new team can try the whole loop (routing,
checks, review buttons, audit, digest) before anyone buys a key.

For ``json_output`` requests it returns the contract lane's object (summary, parties,
renewal_date, payment_terms, termination, risks, evidence), filled by keyword rules, and every
evidence quote is a verbatim slice of the input so the evidence check passes for honest reasons.
The input is recovered from the rendered prompt: by matching the lane templates it was given
(exact), else the ``<<< >>>`` fence the contract prompts use, else the whole prompt.

Output depends only on the request (no clock, no randomness); the response id is a hash of it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from lanes.config_problems import INPUT_PLACEHOLDER
from lanes.providers.base import Completion, CompletionRequest

OFFLINE_MODEL = "offline-sample"
BANNER = "[offline sample model — not a real AI draft]"
CHARS_PER_TOKEN = 4
MAX_VALUE_CHARS = 300
MIN_CLAUSE_WORDS = 4

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}"  # 2027-03-01
    r"|\d{1,2}/\d{1,2}/\d{2,4}"  # 01/03/2027
    rf"|{_MONTH}\s+\d{{1,2}},\s*\d{{4}}"  # March 1, 2027
    rf"|\d{{1,2}}\s+{_MONTH}\s+\d{{4}})\b"  # 1 March 2027
)
_BETWEEN = re.compile(  # names are bounded so a long line cannot make the search quadratic
    r"\bbetween\s+([^\n]{1,80}?)\s+and\s+([^\n]{1,80}?)(?=\s*[,;(]|\.(?:\s*$|\s+[A-Z])|\s+dated\b|$)",
    re.I | re.M,
)
_COMPANY = re.compile(
    r"\b[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,3}"  # up to four capitalised words...
    r"\s+(?:Inc\.?|LLC|Ltd\.?|GmbH|Corp\.?|Corporation|Limited|plc|AG|B\.V\.)"  # ...then a company suffix
)
_FIELD_PATTERNS = {
    "renewal_date": re.compile(r"renew", re.I),
    "payment_terms": re.compile(r"\b(?:pay|payment|payable|invoices?|fees?|net\s*\d+)\b", re.I),
    "termination": re.compile(r"terminat|cancel", re.I),
}
_RISKS = (
    (
        re.compile(r"auto(?:matic(?:ally)?)?[- ]?renew|renews?\s+automatically", re.I),
        "Renews automatically: diarise the notice period.",
    ),
    (re.compile(r"liabilit", re.I), "Liability clause: check the cap and the exclusions."),
    (re.compile(r"indemn", re.I), "Indemnity: check its scope and who indemnifies whom."),
    (re.compile(r"late (?:fee|payment)|interest", re.I), "Late payment carries charges or interest."),
    (re.compile(r"exclusiv", re.I), "Exclusivity limits working with others."),
    (re.compile(r"penalt", re.I), "Penalties are mentioned."),
)
_NO_RISK = "The offline sample model found no risk keywords; a person must read the contract."


class OfflineModel:
    """``Provider`` that answers instantly and deterministically, labelled as a sample."""

    def __init__(self, templates: Iterable[str] = ()) -> None:
        # Most specific first, so "Contract:\n<<<\n{input}..." wins over a bare "{input}".
        self._templates = sorted({t for t in templates if INPUT_PLACEHOLDER in t}, key=lambda t: (-len(t), t))

    def complete(self, request: CompletionRequest) -> Completion:
        source = extract_input(request.prompt, self._templates)
        digest = hashlib.sha256(f"{request.system}\x00{request.prompt}".encode()).hexdigest()
        if request.json_output:
            text = json.dumps(contract_summary(source), ensure_ascii=False, indent=2)
        else:
            text = _text_draft(source, digest, request.max_output_tokens)
        return Completion(
            text=text,
            model_answered=OFFLINE_MODEL,
            response_id=f"offline-{digest[:16]}",
            input_tokens=_tokens(request.system + request.prompt),
            output_tokens=_tokens(text),
            finish_reason="stop",
        )


def extract_input(prompt: str, templates: Sequence[str] = ()) -> str:
    """The request text inside ``prompt``: template match, else ``<<< >>>`` fence, else all of it."""
    for template in templates:
        prefix, _, suffix = template.partition(INPUT_PLACEHOLDER)
        if len(prompt) >= len(prefix) + len(suffix) and prompt.startswith(prefix) and prompt.endswith(suffix):
            return prompt[len(prefix) : len(prompt) - len(suffix)]
    start, end = prompt.find("<<<"), prompt.rfind(">>>")
    if start == -1 or end < start + 3:
        return prompt
    inner = prompt[start + 3 : end]
    return inner.removeprefix("\n").removesuffix("\n")


def contract_summary(text: str) -> dict[str, Any]:
    """The contract lane's JSON object, filled by keyword rules with verbatim evidence."""
    sentences = _sentences(text)
    evidence: list[dict[str, str]] = []
    opening = sentences[0] if sentences else text.strip()
    if opening:
        evidence.append({"field": "summary", "quote": _clip(opening)})
    parties, party_quote = _parties(text)
    if party_quote:
        evidence.append({"field": "parties", "quote": party_quote})
    fields: dict[str, str | None] = {}
    for field, pattern in _FIELD_PATTERNS.items():
        sentence = _first_clause(sentences, pattern)
        fields[field] = _field_value(field, sentence)
        if fields[field] is not None and sentence is not None:
            evidence.append({"field": field, "quote": _clip(sentence)})
    risks = [label for pattern, label in _RISKS if pattern.search(text)] or [_NO_RISK]
    between = f" between {' and '.join(parties[:2])}" if parties else ""
    summary = (
        f"{BANNER} A keyword-based sample summary of a {len(text.split())}-word contract{between}; "
        "no model read it, so a person must check every field."
    )
    return {"summary": summary, "parties": parties, **fields, "risks": risks, "evidence": evidence}


def _first_clause(sentences: list[str], pattern: re.Pattern[str]) -> str | None:
    """The first matching sentence, skipping headings such as "2. Fees." when a real clause matches."""
    matching = [sentence for sentence in sentences if pattern.search(sentence)]
    clauses = [sentence for sentence in matching if len(sentence.split()) >= MIN_CLAUSE_WORDS]
    candidates = clauses or matching
    return candidates[0] if candidates else None


def _field_value(field: str, sentence: str | None) -> str | None:
    if sentence is None:
        return None
    if field == "renewal_date":
        date = _DATE.search(sentence)
        return date.group(0) if date else None
    return _clip(sentence)


def _parties(text: str) -> tuple[list[str], str | None]:
    """Party names (verbatim) and the text they were found in."""
    match = _BETWEEN.search(text)
    if match:
        names = [_strip_parenthetical(match.group(1)), _strip_parenthetical(match.group(2))]
        names = [name for name in names if name]
        if names:
            return names, _clip(match.group(0))
    companies = list(dict.fromkeys(m.group(0).strip() for m in _COMPANY.finditer(text)))[:4]
    return companies, (companies[0] if companies else None)


def _strip_parenthetical(name: str) -> str:
    return name.split(" (")[0].strip().strip(",;")


def _sentences(text: str) -> list[str]:
    """Sentences and lines of ``text``, each a verbatim substring (only outer whitespace dropped)."""
    pieces = (piece.strip() for line in text.splitlines() for piece in _SENTENCE_BREAK.split(line))
    return [piece for piece in pieces if len(piece) >= 3 and piece not in ("<<<", ">>>")]


def _clip(text: str) -> str:
    """A prefix of ``text``, so a clipped quote is still verbatim."""
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS].rstrip()


def _text_draft(source: str, digest: str, max_output_tokens: int) -> str:
    text = "\n".join(
        (
            BANNER,
            "No model was called: this placeholder stands in for a draft so the lane, its checks, "
            "the review buttons and the audit trail can be tried without API keys.",
            f"Request received: {_words(source)} (fingerprint {digest[:8]}).",
            "For real drafts, set OPENAI_API_KEY and ANTHROPIC_API_KEY and run without --offline.",
        )
    )
    return text[: max(max_output_tokens * CHARS_PER_TOKEN, len(BANNER))]


def _words(text: str) -> str:
    count = len(text.split())
    return f"{count} word" if count == 1 else f"{count} words"


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))
