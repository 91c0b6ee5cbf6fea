"""How a rule finds its values: the detector kinds the rules table (``_rules``) is written in.

A detector is data (a regular expression, a key pattern, a validator) until ``build`` turns it
into a finder: a function from a text to the ``(start, end)`` spans to replace. A pattern is
compiled once, when its rule first meets a text that passes its gates (most rules never do, and
compiling all of them would cost a start-up ~15 ms); the detectors that need a library or a data
file (``_personal``, ``_phones``) load it when built, so importing this package stays cheap.

- ``Pattern``: whole matches of a regular expression (or its ``v`` group), optionally confirmed
  by a validator (a checksum, a python-stdnum ``is_valid``).
- ``Assignment``: the value assigned to a key that looks like a secret's name, in ``k=v``,
  ``k: v``, ``"k": "v"`` and ``k => v`` forms. The key decides; the value is redacted whatever
  it looks like, which is how secrets of no known format are caught.
- ``Custom``: a finder function for shapes one expression cannot pin down (the password of
  ``scheme://user:password@host`` here; emails, cards, IBANs and phones in ``_personal``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

Hit = tuple[int, int]  # (start, end) of one value in a text
Finder = Callable[[str], Iterable[Hit]]
Check = Callable[[str], bool]

#: A value that is already one of our replacement tokens (redacting it again would change nothing).
TOKEN_RE = re.compile(r"\[(?:SECRET|ID)(?::[a-z_]+)?\]|\[(?:EMAIL|PHONE|CARD|IBAN|REDACTED)\]")
# Values after a secret-looking key that are type names, literals or references in code, not secrets.
_NOT_SECRETS = frozenset(
    {"str", "string", "int", "bool", "bytes", "none", "null", "nil", "true", "false", "lambda", "undefined"}
)
# Where a secret comes from, not the secret: ``${STRIPE_KEY}``, ``{{ secrets.TOKEN }}`` (a bare
# value stops at its first blank, so ``{{`` is all we see of a template), and code
# that reads it (``os.environ["X"]``, ``getenv('X')``: a bare value ending in ``(`` or ``[`` and
# followed by a quote).
_REFERENCE = re.compile(r"\$\{[A-Za-z_]\w*\}|\{\{.*")
_LOOKUP = re.compile(r"[A-Za-z_][\w.]*[(\[]")
_TRAILING_PUNCTUATION = ".,;:!?)]}>"
_KEY_CHARS = "_.-"
_ESCAPES = frozenset({"\\n", "\\t", "\\r"})
_MAX_KEY = 100


@dataclass(frozen=True)
class Options:
    """What a redactor is built with (only the phone detector reads it today)."""

    phone_regions: tuple[str, ...]


class Detector(Protocol):
    """Data that ``build`` turns into a finder; ``check`` names the validator, for the docs."""

    @property
    def check(self) -> Check | None: ...

    def build(self, options: Options) -> Finder: ...


@dataclass(frozen=True)
class Pattern:
    """Whole matches of ``regex`` (or its group ``v``) that ``check`` accepts, if it is given.

    ``glued``: a match stuck to a preceding letter, digit or one of these characters is part of
    a longer word and not reported (``risk-…`` is no ``sk-…``); ``None`` for prefixes distinctive
    enough to need no such check. ``alone``: an identifier, which must not follow a letter or a
    digit, nor be one link of a chain of digit groups (``1-078-05-1120``); its regex checks what
    follows it. An escaped ``\\n`` or ``\\t`` before a match is a boundary. The neighbour is
    checked here rather than by a lookbehind, which would stop the regex engine from jumping
    between prefix occurrences (15x slower on prose)."""

    regex: str
    check: Check | None = None
    flags: int = 0
    glued: str | None = "_-"
    alone: bool = False

    def build(self, options: Options) -> Finder:
        regex, flags, glued, check, alone = self.regex, self.flags, self.glued, self.check, self.alone
        compiled: list[re.Pattern[str]] = []  # on first use: most rules never see a text they could match

        def find(text: str) -> Iterator[Hit]:
            if not compiled:
                compiled.append(re.compile(regex, flags))
            pattern = compiled[0]
            group = "v" if "v" in pattern.groupindex else 0
            for match in pattern.finditer(text):
                start, end = match.span(group)
                if glued is not None and _glued(text, match.start(), glued):
                    continue
                if alone and _chained(text, match.start()):
                    continue
                if check is None or check(text[start:end]):
                    yield start, end

        return find


def _glued(text: str, start: int, glued: str) -> bool:
    if not start or text[max(0, start - 2) : start] in _ESCAPES:  # ``\nsk-…`` starts a line
        return False
    before = text[start - 1]
    return before.isalnum() or before in glued


def _chained(text: str, start: int) -> bool:
    """Whether an identifier at ``start`` continues a word or a chain of digit groups."""
    if not start or text[max(0, start - 2) : start] in _ESCAPES:
        return False
    before = text[start - 1]
    return before.isalnum() or (before in "-./" and start > 1 and text[start - 2].isdigit())


@dataclass(frozen=True)
class Assignment:
    """Values assigned to keys that ``key`` accepts: ``k=v``, ``k: v``, ``"k": "v"``, ``k => v``.

    ``key`` is a regular expression the whole key must match (case-insensitive) or a predicate;
    ``value``, if given, a regular expression the whole value must match. The scan starts from
    assignment operators, which are rare in prose, and looks left for the key: matching key
    words at every position of the text costs 30x more."""

    key: str | Callable[[str], bool]
    value: str = ""
    check: Check | None = None

    def build(self, options: Options) -> Finder:
        key = self.key
        accepts = key if callable(key) else re.compile(key, re.IGNORECASE).fullmatch
        shape = re.compile(self.value) if self.value else None  # three rules: compiled when built
        check = self.check

        def find(text: str) -> Iterator[Hit]:
            resume = 0  # operators inside a value just found are part of it: ``password=a=b=c``
            for operator in _OPERATOR.finditer(text):
                if operator.start() < resume:
                    continue
                name = _key_before(text, operator.start())
                if not name or not accepts(name):
                    continue
                value = _VALUE.match(text, operator.end())
                span = _value_span(value) if value else None
                if span is None or (shape is not None and not shape.fullmatch(text, *span)):
                    continue
                if check is None or check(text[span[0] : span[1]]):
                    resume = span[1]
                    yield span

        return find


# ``=`` not part of ``==``/``!=``/``<=``/``>=``; ``:`` not part of ``://``.
_OPERATOR = re.compile(r"(?<![=!<>])(?:=>|:=|=(?!=)|:(?!//))")
_VALUE = re.compile(
    r"""[ \t]*(?:(?:bearer|basic|token|digest)[ \t]+)?"""
    # A bare value ends at blanks, quotes, or an ``&`` or ``;`` starting the next ``k=v`` (a query
    # string, a connection string: ``AccountKey=…;EndpointSuffix=…`` keeps its suffix readable).
    r"""(?:"(?P<dq>(?:[^"\\\n]|\\.)*)"|'(?P<sq>[^'\n]*)'|(?P<bare>(?:[^\s"'&;]|[&;](?![\w.-]+=))+))""",
    re.IGNORECASE,
)


def _key_before(text: str, operator: int) -> str:
    r"""The ``[\w.-]`` key left of an assignment operator, past blanks and one closing quote.

    The ``:`` inside one of our own tokens (``[SECRET:openai]``) has no key, so text redacted
    once comes out of a second pass unchanged."""
    end = operator
    while end > 0 and text[end - 1] in " \t":
        end -= 1
    if end > 0 and text[end - 1] in "\"'":
        end -= 1
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in _KEY_CHARS):
        start -= 1
        if end - start > _MAX_KEY:
            return ""
    if start > 0 and TOKEN_RE.match(text, start - 1):
        return ""
    return text[start:end]


def _value_span(match: re.Match[str]) -> Hit | None:
    """Hit of the quoted or bare value. A bare value keeps its trailing punctuation: the ``!`` in
    ``password=hunter2!`` may be part of it, and a swallowed full stop costs nothing."""
    group = next(name for name in ("dq", "sq", "bare") if match.span(name)[0] >= 0)
    start, end = match.span(group)
    value = match.string[start:end]
    if not value or TOKEN_RE.match(value):  # already redacted (``password=[SECRET],``)
        return None
    if value.rstrip(_TRAILING_PUNCTUATION).lower() in _NOT_SECRETS:  # ``def f(password: str, …``
        return None
    if _REFERENCE.fullmatch(value) or (
        _LOOKUP.fullmatch(value) and match.string[end : end + 1] in ('"', "'")
    ):
        return None  # ``token: ${TOKEN}``, ``api_key=os.environ["KEY"]``
    return start, end


@dataclass(frozen=True)
class Custom:
    """A finder a single expression cannot express: ``build`` makes it (and may load a library or
    a data file, which is why it runs when a redactor is built, not at import)."""

    build: Callable[[Options], Finder]
    check: Check | None = None


def url_password(options: Options) -> Finder:
    """The password in ``scheme://user:password@host`` (the user name and host stay readable)."""

    def find(text: str) -> Iterator[Hit]:
        for match in _URL_USERINFO.finditer(text):
            if not TOKEN_RE.fullmatch(match.group("pw")):
                yield match.span("pw")

    return find


_URL_USERINFO = re.compile(r"://[^\s/:@]*:(?P<pw>[^\s/@]+)@")


# --- which key names hold secrets -------------------------------------------------------------

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# A key holding any of these words (or a word ending in one: ``dbpassword``, ``oauthtoken``) holds a
# secret, wherever the word sits: ``password``, ``auth_header``, ``accessToken``, ``secret_key_base``.
_SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "credential",
    "credentials",
    "passwords",
    "secrets",
    "authorization",
    "auth",
)
# These only as the last of two or more words: ``STRIPE_KEY``, ``stripeKey``, ``DB_PASS``,
# ``SMTP_PW``; not ``key_id``, ``keyboard``, ``passenger``, nor a bare ``key`` (``{"key": "priority"}``).
_LAST_WORDS = frozenset({"key", "pass", "pw", "sig", "signature"})
# One-word keys ending in ``key`` that are a secret's name (``monkey`` and ``turkey`` are not).
_KEY_COMPOUNDS = frozenset(
    {
        "api",
        "access",
        "account",
        "app",
        "auth",
        "client",
        "consumer",
        "encryption",
        "license",
        "licence",
        "master",
        "private",
        "secret",
        "service",
        "session",
        "shared",
        "signing",
        "subscription",
        "webhook",
    }
)


def secret_key_name(key: str) -> bool:
    """Whether a setting called ``key`` holds a secret: it ends in key/token/secret/password/pwd/
    credential (or pass, pw, signature), in any naming style, or has a password/secret/token/auth
    word anywhere. ``author``, ``tokenizer``, ``max_tokens``, ``monkey`` and ``key_id`` do not."""
    words = [word.lower() for word in _WORDS.findall(key)]
    if not words:
        return False
    last = words[-1]
    if (last in _LAST_WORDS and len(words) > 1) or (last.endswith("key") and last[:-3] in _KEY_COMPOUNDS):
        return True
    return any(word.endswith(_SECRET_WORDS) for word in words)
