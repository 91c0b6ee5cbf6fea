"""The offline sample's contract summary: what regular expressions can honestly find in the text.

The contract lane's prompts ask for one JSON object (summary, parties, renewal_date,
payment_terms, termination, risks, evidence) and its ``evidence_required`` check rejects any
quote that is not in the input. A sample that made up plausible values would teach a new team
the wrong thing about the lane, so this one follows a stricter rule than a model would:

- a field is filled only from text that is really there (a date, a notice period, an amount, a
  party name), and every filled field has an evidence entry quoting the sentence it came from;
- every quote is a verbatim slice of the input (a prefix when clipped), never reworded;
- a field with nothing to go on is ``null`` and the summary says it was not found, so "absent"
  can never be mistaken for "absent from the contract" by the person reviewing it.

Values may join several verbatim fragments of one clause ("$2,000 per month; within thirty (30)
days of receipt"); quotes never do. Output depends only on the text.
"""

from __future__ import annotations

import re
from typing import Any

from lanes.providers.offline.banner import BANNER

MAX_VALUE_CHARS = 300
MIN_CLAUSE_WORDS = 4
MAX_PARTIES = 4
MAX_DATES = 4
FIELDS = ("renewal_date", "payment_terms", "termination")
LABELS = {"parties": "parties", "renewal_date": "renewal date", "payment_terms": "payment terms"}

_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?])\s+(?=[A-Z0-9])"
)  # not before "(": "Inc. (\"Customer\")" is one clause
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
DATE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}"  # 2027-03-01
    r"|\d{1,2}/\d{1,2}/\d{2,4}"  # 01/03/2027
    r"|\d{1,2}\.\d{1,2}\.\d{4}"  # 01.03.2027
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s*\d{{4}}"  # March 1, 2027
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}})\b"  # 1 March 2027
)
_BETWEEN = re.compile(  # names are bounded so a long line cannot make the search quadratic
    r"\bbetween\s+(?:the\s+)?([^\n]{1,80}?)\s+and\s+([^\n]{1,80}?)(?=\s*[,;(]|\.(?:\s*$|\s+[A-Z])|\s+dated\b|$)",
    re.I | re.M,
)
_COMPANY = re.compile(
    r"\b[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,3}"  # up to four capitalised words...
    r"\s+(?:Inc\.?|LLC|Ltd\.?|GmbH|Corp\.?|Corporation|Limited|plc|AG|B\.V\.|S\.A\.|Oy|AB)"  # ...a suffix
)
_CLAUSE = {
    "renewal_date": re.compile(r"renew", re.I),
    "payment_terms": re.compile(r"\b(?:pay|payment|payable|paid|invoices?|fees?|net\s*\d+)\b", re.I),
    "termination": re.compile(r"terminat|cancel", re.I),
}
_PAYMENT_PARTS = (
    re.compile(
        r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?|\b(?:USD|EUR|GBP|CHF)\s?\d[\d,]*(?:\.\d+)?)"
        r"(?:\s+(?:per|a|each)\s+(?:month|year|quarter|annum|week|hour|day))?",
        re.I,
    ),
    re.compile(r"\bnet\s*\d+\b", re.I),
    re.compile(
        r"\bwithin\s+[\w()\s-]{1,30}?\s+days?\b(?:\s+(?:of|after|from)\s+[\w\s]{1,30}?(?=[.,;]|$))?", re.I
    ),
    re.compile(r"\b(?:monthly|quarterly|annually|yearly)\s+in\s+advance\b|\bin\s+advance\b", re.I),
)
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
_NO_RISK = "The offline sample found no risk keywords; a person must still read the contract."


def contract_summary(text: str) -> dict[str, Any]:
    """The contract lane's JSON object for ``text``: found values with verbatim evidence, else null."""
    sentences = sentences_of(text)
    evidence: list[dict[str, str]] = []
    opening = sentences[0] if sentences else text.strip()
    if opening:
        evidence.append({"field": "summary", "quote": clip(opening)})
    parties, party_quote = _parties(text)
    if party_quote:
        evidence.append({"field": "parties", "quote": party_quote})
    values: dict[str, str | None] = {}
    for name in FIELDS:
        value, quote = _field(name, sentences)
        values[name] = value
        if value is not None and quote is not None:
            evidence.append({"field": name, "quote": quote})
    dates = _dates(sentences)
    evidence += [{"field": "dates", "quote": quote} for quote in dict.fromkeys(dates.values())]
    risks = [label for pattern, label in _RISKS if pattern.search(text)] or [_NO_RISK]
    summary = _summary(text, parties, values, list(dates))
    return {"summary": summary, "parties": parties, **values, "risks": risks, "evidence": evidence}


def _summary(text: str, parties: list[str], values: dict[str, str | None], dates: list[str]) -> str:
    between = f" between {' and '.join(parties[:2])}" if parties else ""
    found = {
        "parties": bool(parties),
        **{name: values[name] is not None for name in FIELDS},
        "dates": bool(dates),
    }
    missing = [LABELS.get(name, name) for name, present in found.items() if not present]
    not_found = f" Not found in the text: {', '.join(missing)}." if missing else ""
    dated = f" Dates in the text: {', '.join(dates)}." if dates else ""
    return (
        f"{BANNER} A {len(text.split())}-word contract{between}, read by pattern rules, not by a model."
        f"{dated}{not_found} Every value is backed by a verbatim quote; check each one against the contract."
    )


def _dates(sentences: list[str]) -> dict[str, str]:
    """The first few distinct dates in the text, each with the (clipped) sentence it is in."""
    found: dict[str, str] = {}
    for sentence in sentences:
        quote = clip(sentence)
        for match in DATE.finditer(quote):
            found.setdefault(match.group(0), quote)
            if len(found) == MAX_DATES:
                return found
    return found


def _field(name: str, sentences: list[str]) -> tuple[str | None, str | None]:
    """A field's value and the sentence it came from, or ``(None, None)`` if the text has neither."""
    sentence = _first_clause(sentences, _CLAUSE[name])
    if sentence is None:
        return None, None
    if name == "renewal_date":
        date = _renewal_date(sentence)
        return (date, clip(sentence)) if date else (None, None)
    if name == "payment_terms":
        parts = [m.group(0).strip() for pattern in _PAYMENT_PARTS for m in pattern.finditer(sentence)]
        value = "; ".join(dict.fromkeys(parts)) if parts else clip(sentence)
        return value, clip(sentence)
    return clip(sentence), clip(sentence)


def _renewal_date(sentence: str) -> str | None:
    """The first date after the word "renew" (a term's start date often comes before it), else
    the first date in the sentence."""
    keyword = _CLAUSE["renewal_date"].search(sentence)
    after = DATE.search(sentence, keyword.end()) if keyword else None
    date = after or DATE.search(sentence)
    return date.group(0) if date else None


def _first_clause(sentences: list[str], pattern: re.Pattern[str]) -> str | None:
    """The first matching sentence, skipping headings such as "2. Fees." when a real clause matches."""
    matching = [sentence for sentence in sentences if pattern.search(sentence)]
    clauses = [sentence for sentence in matching if len(sentence.split()) >= MIN_CLAUSE_WORDS]
    candidates = clauses or matching
    return candidates[0] if candidates else None


def _parties(text: str) -> tuple[list[str], str | None]:
    """Party names (verbatim) and the text they were found in."""
    match = _BETWEEN.search(text)
    if match:
        names = [_strip_parenthetical(match.group(1)), _strip_parenthetical(match.group(2))]
        names = [name for name in names if name and name[0].isupper()]
        if len(names) == 2:
            return names, clip(match.group(0))
    companies = list(dict.fromkeys(m.group(0).strip() for m in _COMPANY.finditer(text)))[:MAX_PARTIES]
    return companies, (companies[0] if companies else None)


def _strip_parenthetical(name: str) -> str:
    return name.split(" (")[0].strip().strip(",;\"'“”")


def sentences_of(text: str) -> list[str]:
    """Sentences and lines of ``text``, each a verbatim substring (only outer whitespace dropped)."""
    pieces = (piece.strip() for line in text.splitlines() for piece in _SENTENCE_BREAK.split(line))
    return [piece for piece in pieces if len(piece) >= 3 and piece not in ("<<<", ">>>")]


def clip(text: str) -> str:
    """A prefix of ``text``, so a clipped quote is still verbatim."""
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS].rstrip()
