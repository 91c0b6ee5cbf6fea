"""Redaction: every secret and personal-data family is replaced, nothing else is touched, and
failures keep text out of the store and the logs.

The ``redactor`` fixture is the session-wide one from ``conftest.py``.
Planted secrets are assembled from parts at run time (``"xox" + "b-"``…) so that this file holds
no string a secret scanner would flag, and so each value is unique and long enough that finding
it in the output can only mean it leaked.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import string
import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.redaction import (
    AnalyzerResult,
    Redacted,
    RedactingFilter,
    Redactor,
    RedactorSetupError,
    scrub_secrets,
)

ROOT = Path(__file__).resolve().parents[1]
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
URLSAFE = ALNUM + "_-"


def rand(n: int, alphabet: str = ALNUM, seed: str = "") -> str:
    """Deterministic random-looking characters: the same test data on every run."""
    return "".join(random.Random(f"{seed}:{n}:{alphabet}").choices(alphabet, k=n))


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it Luhn-valid."""
    for check in "0123456789":
        if is_luhn(prefix + check):
            return prefix + check
    raise AssertionError("unreachable")


def is_luhn(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return total % 10 == 0


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def pem(kind: str) -> str:
    body = "\n".join(rand(64, ALNUM + "+/", seed=f"{kind}{i}") for i in range(4))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


SK = "sk" + "-"
OPENAI_LEGACY = SK + rand(48, seed="openai")
OPENAI_PROJECT = SK + "proj-" + rand(74, URLSAFE, "p1") + "T3Blbk" + "FJ" + rand(74, URLSAFE, "p2")
ANTHROPIC = SK + "ant-" + "api03-" + rand(93, URLSAFE, "anthropic") + "AA"
JWT = ".".join(
    [b64url({"alg": "HS256", "typ": "JWT"}), b64url({"sub": "1234567890", "name": "Ann"}), rand(43, URLSAFE)]
)
AWS_SECRET = rand(40, ALNUM + "/+", seed="aws")


@dataclass(frozen=True)
class Plant:
    """A text with one planted value, and exactly what the redacted text must be."""

    id: str
    text: str
    value: str
    expected: str
    finding: str


def whole(id: str, value: str, token: str, finding: str) -> Plant:
    return Plant(id, f"before {value} after", value, f"before {token} after", finding)


def assigned(
    id: str, template: str, value: str, finding: str = "GENERIC_SECRET", token: str = "[SECRET]"
) -> Plant:
    return Plant(id, template.format(value), value, template.format(token), finding)


SECRETS = [
    whole("openai-legacy", OPENAI_LEGACY, "[SECRET:openai]", "OPENAI_KEY"),
    whole("openai-project", OPENAI_PROJECT, "[SECRET:openai]", "OPENAI_KEY"),
    whole("anthropic", ANTHROPIC, "[SECRET:anthropic]", "ANTHROPIC_KEY"),
    *[
        whole(
            f"slack-{prefix}",
            "xox" + prefix + "-1234567890-" + rand(24, seed=prefix),
            "[SECRET:slack]",
            "SLACK_TOKEN",
        )
        for prefix in ("b", "p", "a", "r", "s", "e")
    ],
    whole(
        "slack-rotating", "xox" + "e.xox" + "p-1-" + rand(140, seed="xoxe"), "[SECRET:slack]", "SLACK_TOKEN"
    ),
    whole("slack-app", "xa" + "pp-1-A0123456789-" + rand(60, seed="xapp"), "[SECRET:slack]", "SLACK_TOKEN"),
    whole(
        "slack-webhook",
        "https://hooks.slack.com/"
        + "services/T0"
        + rand(8, UPPER_DIGITS)
        + "/B0"
        + rand(8, UPPER_DIGITS)
        + "/"
        + rand(24),
        "[SECRET:slack]",
        "SLACK_WEBHOOK",
    ),
    whole("aws-akia", "AK" + "IA" + rand(16, UPPER_DIGITS, "akia"), "[SECRET:aws]", "AWS_ACCESS_KEY_ID"),
    whole("aws-asia", "AS" + "IA" + rand(16, UPPER_DIGITS, "asia"), "[SECRET:aws]", "AWS_ACCESS_KEY_ID"),
    assigned("aws-secret-ini", "aws_secret_access_key = {}", AWS_SECRET, "AWS_SECRET_KEY", "[SECRET:aws]"),
    assigned(
        "aws-secret-env", "export AWS_SECRET_ACCESS_KEY={} next", AWS_SECRET, "AWS_SECRET_KEY", "[SECRET:aws]"
    ),
    assigned("aws-secret-json", '{{"SecretAccessKey": "{}"}}', AWS_SECRET, "AWS_SECRET_KEY", "[SECRET:aws]"),
    *[
        whole(f"github-{prefix}", prefix + "_" + rand(36, seed=prefix), "[SECRET:github]", "GITHUB_TOKEN")
        for prefix in ("ghp", "gho", "ghu", "ghs", "ghr")
    ],
    whole(
        "github-pat",
        "github" + "_pat_" + rand(22) + "_" + rand(59, seed="pat"),
        "[SECRET:github]",
        "GITHUB_TOKEN",
    ),
    whole("jwt", JWT, "[SECRET:jwt]", "JWT"),
    *[
        whole(f"pem-{kind or 'pkcs8'}", pem(kind), "[SECRET:private_key]", "PRIVATE_KEY")
        for kind in ("RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "")
    ],
    assigned("password-eq", "config password={} end", "Hunter2!xyzzy"),
    assigned("password-trailing-bang", "password={} now", "hunter2-Sup3rS3cret!"),
    assigned("passwd-colon", "passwd: {}\nnext: line", "Tr0ub4dor&3horse"),
    assigned("secret-json", '{{"secret": "{}", "id": 7}}', "s3cr3t value with spaces"),
    assigned("token-quoted", "token = '{}'", "abc.def.ghi"),
    assigned("api-key", "api_key={}", rand(32, seed="api")),
    assigned("apikey", "apikey: {}", rand(32, seed="apikey")),
    assigned("access-key", "ACCESS_KEY={}", rand(20, seed="access")),
    assigned("client-secret", "client_secret: {}", rand(30, seed="client")),
    assigned("auth", "auth={}", rand(30, seed="auth")),
    assigned("header-api-key", "X-Api-Key: {}", rand(30, seed="xapi")),
    assigned("bearer", "Authorization: Bearer {}", rand(40, URLSAFE, "bearer")),
    assigned("basic", "Authorization: Basic {}", base64.b64encode(b"user:pass").decode()),
    assigned("camel-case", '{{"accessToken":"{}"}}', rand(30, seed="camel")),
    assigned("python-dict", "{{'db_password': '{}'}}", "p@ss w0rd"),
    assigned("query-string", "https://app.example/cb?access_token={}&state=ok", rand(30, seed="qs")),
    assigned("url-userinfo", "postgres://app:{}@db.internal:5432/app", "pa55word", "URL_PASSWORD"),
]
PERSONAL = [
    whole("email", "bob.smith+tag@example.co.uk", "[EMAIL]", "EMAIL_ADDRESS"),
    whole("email-subdomain", "ann_o'neil@mail.corp-example.com", "[EMAIL]", "EMAIL_ADDRESS"),
    *[
        whole(f"phone-{i}", number, "[PHONE]", "PHONE_NUMBER")
        for i, number in enumerate(
            [
                "+44 20 7946 0958",
                "+1 (415) 555-0132",
                "+1-415-555-0132",
                "(415) 555-0132",
                "020 7946 0958",
                "+49 30 901820",
                "030 1234567",
                "+33 1 23 45 67 89",
                "+91 98765 43210",
            ]
        )
    ],
    *[
        whole(f"card-{i}", number, "[CARD]", "CREDIT_CARD")
        for i, number in enumerate(
            [
                "4111 1111 1111 1111",
                "4111-1111-1111-1111",
                "4111111111111111",
                "5555 5555 5555 4444",
                "2223 0031 2200 3222",
                "3782 822463 10005",
                "378282246310005",
                "3056 930902 5904",
                "6011 1111 1111 1117",
                "4222222222222",
                luhn_complete("4" + "1" * 14 + "000"),  # 19 digits
                " ".join(luhn_complete("6" + "2" * 17)[i : i + 4] for i in range(0, 19, 4)),  # 4-4-4-4-3
            ]
        )
    ],
    whole("iban-spaced", "DE89 3704 0044 0532 0130 00", "[IBAN]", "IBAN_CODE"),
    whole("iban-compact", "DE89370400440532013000", "[IBAN]", "IBAN_CODE"),
    whole("iban-gb", "GB29 NWBK 6016 1331 9268 19", "[IBAN]", "IBAN_CODE"),
    whole("iban-fr", "FR14 2004 1010 0505 0001 3M02 606", "[IBAN]", "IBAN_CODE"),
    whole("iban-nl", "NL91ABNA0417164300", "[IBAN]", "IBAN_CODE"),
]
PLANTS = SECRETS + PERSONAL
SECRET_ONLY_KEEPS = [
    "bob.smith@example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
]

UNTOUCHED = [
    "order 4111 1111 1111 1112 shipped",  # not Luhn-valid
    "order id 1234567812345678 and 12345678901234567890123",
    "IBAN GB00 NWBK 6016 1331 9268 19 has a bad checksum",
    "The author: Jane Doe; tokenizer: bert-base; max_tokens: 300",
    "our secretary keeps the passwords policy; authentication: enabled",
    "def check(password: str, token: str | None) -> bool:\n    return token == expected",
    "see the risk-assessment-framework-for-the-quarterly-board-review and ask-me-anything-sessions",
    "version 2.3.1 released 2024-05-01 at 12:30, ticket #4821, price $1,234,567.89",
    "https://example.com/docs?page=2&sort=asc",
    "Ünïcödé text with emoji 🎉 and 日本語 stays as it is.",
    "",
]


# --- every family is removed, the rest survives ------------------------------------------------


@pytest.mark.parametrize("plant", PLANTS, ids=[p.id for p in PLANTS])
def test_planted_value_is_replaced_and_surroundings_survive(redactor: Redactor, plant: Plant) -> None:
    result = redactor.redact(plant.text)

    assert result == Redacted(plant.expected, (plant.finding,))
    assert plant.value not in result.text


@pytest.mark.parametrize("plant", PLANTS, ids=[p.id for p in PLANTS])
def test_redacting_twice_changes_nothing(redactor: Redactor, plant: Plant) -> None:
    once = redactor.redact(plant.text)

    assert redactor.redact(once.text) == Redacted(once.text, ())


def test_luhn_helpers_agree_with_known_numbers() -> None:
    assert luhn_complete("411111111111111") == "4111111111111111"
    assert is_luhn("2223 0031 2200 3222") and is_luhn("3056 930902 5904")
    assert not is_luhn("4111 1111 1111 1112") and not is_luhn("1234567812345678")


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_text_and_invalid_numbers_stay(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted(text, ())


def test_many_values_in_one_text_are_counted_in_order(redactor: Redactor) -> None:
    text = (
        f"Mail a@example.com, b@example.org, key {OPENAI_LEGACY}, card 4111-1111-1111-1111, +44 20 7946 0958"
    )

    result = redactor.redact(text)

    assert result.text == "Mail [EMAIL], [EMAIL], key [SECRET:openai], card [CARD], [PHONE]"
    assert result.findings == ("EMAIL_ADDRESS", "EMAIL_ADDRESS", "OPENAI_KEY", "CREDIT_CARD", "PHONE_NUMBER")


def test_specific_family_wins_over_generic_key_value(redactor: Redactor) -> None:
    result = redactor.redact(f'{{"token": "{ANTHROPIC}", "password": "ann@example.com"}}')

    assert result == Redacted(
        '{"token": "[SECRET:anthropic]", "password": "[SECRET]"}', ("ANTHROPIC_KEY", "GENERIC_SECRET")
    )


def test_card_is_found_next_to_other_numbers(redactor: Redactor) -> None:
    result = redactor.redact("ref 2024 4111 1111 1111 1111 exp 12/26, then 4111 1111 1111 1111 7")

    assert "4111" not in result.text
    assert result.findings == ("CREDIT_CARD", "CREDIT_CARD")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +44 20 7946 0958 10am", "call [PHONE] 10am"),
        ("(415) 555-0132 2 times", "[PHONE] 2 times"),
        ("ref 12 020 7946 0958", "ref 12 [PHONE]"),
        ("+ +49 30 901820", "+ [PHONE]"),
    ],
)
def test_phone_is_found_next_to_other_numbers(redactor: Redactor, text: str, expected: str) -> None:
    """python-phonenumbers alone reports nothing for these: the neighbours make one invalid number."""
    assert redactor.redact(text) == Redacted(expected, ("PHONE_NUMBER",))


def test_url_userinfo_is_a_password_not_an_email(redactor: Redactor) -> None:
    result = redactor.redact(
        "ftp://anonymous@ftp.example.org and https://bob:hunter2hunter2@files.example.org/x"
    )

    assert result == Redacted(
        "ftp://anonymous@ftp.example.org and https://bob:[SECRET]@files.example.org/x", ("URL_PASSWORD",)
    )


def test_secrets_inside_json_escaped_text_are_removed(redactor: Redactor) -> None:
    escaped = json.dumps({"env": f"A=1\n{OPENAI_LEGACY}\n{JWT}\n{pem('RSA ')}"})

    result = redactor.redact(escaped)

    assert result.findings == ("OPENAI_KEY", "JWT", "PRIVATE_KEY")
    assert result.text == '{"env": "A=1\\n[SECRET:openai]\\n[SECRET:jwt]\\n[SECRET:private_key]"}'


def test_truncated_private_key_is_still_removed(redactor: Redactor) -> None:
    key = pem("RSA ")
    truncated = key[: key.index("-----END")]

    result = redactor.redact(f"log excerpt:\n{truncated}")

    assert result == Redacted("log excerpt:\n[SECRET:private_key]", ("PRIVATE_KEY",))


def test_redact_secrets_removes_credentials_but_keeps_personal_data(redactor: Redactor) -> None:
    text = f"ping {' / '.join(SECRET_ONLY_KEEPS)} with {OPENAI_PROJECT} and password=Hunter2!xyzzy"

    shown = redactor.redact_secrets(text)

    assert shown == f"ping {' / '.join(SECRET_ONLY_KEEPS)} with [SECRET:openai] and password=[SECRET]"
    assert scrub_secrets(text).findings == ("OPENAI_KEY", "GENERIC_SECRET")


def test_redact_or_withhold_returns_the_redacted_text(redactor: Redactor) -> None:
    assert redactor.redact_or_withhold("mail ann@example.com") == ("mail [EMAIL]", True)


# --- property: a planted value never survives, wherever it lands ------------------------------

_words = st.text(max_size=80)
_separators = st.sampled_from([" ", "\n", "\t", ", ", " (", ") ", " <", "> ", ' "', '" ', " '", "' ", ": "])
_emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,8})?", fullmatch=True),
    st.sampled_from(["com", "org", "io", "de", "co.uk", "dev", "example.com"]),
)
_tokens = st.builds(
    str.__add__,
    st.sampled_from(
        [SK, SK + "proj-", SK + "ant-api03-", "xox" + "b-", "xox" + "p-", "gh" + "p_", "gh" + "s_"]
    ),
    st.text(alphabet=ALNUM, min_size=40, max_size=60),
)
_aws_ids = st.builds(
    str.__add__, st.sampled_from(["AK" + "IA", "AS" + "IA"]), st.text(UPPER_DIGITS, min_size=16, max_size=16)
)
_values = st.builds(
    str.__add__, st.sampled_from(ALNUM), st.text(ALNUM + "!#$%*+-/=?^_~.,;:()", min_size=15, max_size=40)
)
_assigned = st.tuples(
    st.sampled_from(["password=", "token: ", "api_key = ", "client_secret:", "Authorization: Bearer "]),
    _values,
)
_quoted = st.tuples(
    st.sampled_from(['"password": "', "secret='", '"apiKey":"']),
    st.builds(str.__add__, st.sampled_from(ALNUM), st.text(ALNUM + " !#$%*+-/=?.", min_size=15, max_size=40)),
)


_phones = st.sampled_from(
    ["+44 20 7946 0958", "(415) 555-0132", "+49 30 901820", "020 7946 0958", "+33 1 23 45 67 89"]
)
_cards = st.sampled_from(
    ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "3782 822463 10005"]
)


@dataclass(frozen=True)
class Planted:
    text: str
    value: str
    around: str  # the random text alone
    secret: bool  # False for personal data, which ``redact_secrets`` keeps on purpose


def _alone(value: str) -> tuple[str, str]:
    return "", value


@st.composite
def _planted(draw: st.DrawFn) -> Planted:
    secret = draw(st.booleans())
    if secret:
        plain = st.one_of(_tokens, _aws_ids, st.just(JWT)).map(_alone)
        prefix, value = draw(st.one_of(plain, _assigned, _quoted))
    else:
        prefix, value = draw(st.one_of(_emails, _phones, _cards).map(_alone))
    closing = prefix[-1] if prefix.endswith(("'", '"')) else ""
    before, after = draw(_words), draw(_words)
    text = before + draw(_separators) + prefix + value + closing + draw(_separators) + after
    return Planted(text, value, before + after, secret)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_planted())
def test_planted_value_never_survives(redactor: Redactor, planted: Planted) -> None:
    if planted.value in planted.around:  # the random text itself spelled the value: nothing to prove
        return

    result = redactor.redact(planted.text)

    assert planted.value not in result.text
    assert redactor.redact(result.text).text == result.text
    if planted.secret:
        assert planted.value not in redactor.redact_secrets(planted.text)


# --- failure keeps text out of the store and the logs ------------------------------------------


class ExplodingAnalyzer:
    """An analyzer that breaks mid-request, echoing the text in its error as some libraries do."""

    def analyze(self, text: str, language: str, entities: list[str]) -> Sequence[AnalyzerResult]:
        raise RuntimeError(f"recognizer crashed on {text!r}")


@dataclass
class Result:
    entity_type: str
    start: int
    end: int
    score: float = 1.0


@dataclass
class ScriptedAnalyzer:
    """Returns the same detections for every call (first pass) and none for phones."""

    results: list[Result]

    def analyze(self, text: str, language: str, entities: list[str]) -> Sequence[Result]:
        return [] if entities == ["PHONE_NUMBER"] else self.results


def test_broken_analyzer_withholds_text_and_logs_no_text(caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor(ExplodingAnalyzer(), verify=False)
    secret_text = "card 4111 1111 1111 1111 for ann@example.com"

    with caplog.at_level(logging.DEBUG):
        assert redactor.redact_or_withhold(secret_text) == (None, False)

    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.__dict__["error_type"] == "RuntimeError"
    assert record.__dict__["text_chars"] == len(secret_text)
    logged = caplog.text + repr(record.__dict__)
    assert "4111" not in logged and "ann@" not in logged


def test_broken_analyzer_makes_redact_raise() -> None:
    with pytest.raises(RuntimeError, match="recognizer crashed"):
        Redactor(ExplodingAnalyzer(), verify=False).redact("anything")


def test_self_test_refuses_an_analyzer_that_misses_families() -> None:
    with pytest.raises(RedactorSetupError, match=r"CREDIT_CARD.*EMAIL_ADDRESS"):
        Redactor(ScriptedAnalyzer([]))


def test_overlapping_detections_merge_without_leaving_fragments() -> None:
    analyzer = ScriptedAnalyzer(
        [
            Result("EMAIL_ADDRESS", 0, 6),
            Result("CREDIT_CARD", 4, 10),
            Result("PHONE_NUMBER", 12, 14, score=0.0),
        ]
    )

    result = Redactor(analyzer, verify=False).redact("abcdefghij k lm")

    assert result == Redacted("[CARD] k lm", ("CREDIT_CARD",))


def test_unknown_entity_from_an_analyzer_is_still_redacted() -> None:
    result = Redactor(ScriptedAnalyzer([Result("PERSON", 5, 13)]), verify=False).redact("from Ann Shaw.")

    assert result == Redacted("from [REDACTED].", ("PERSON",))


# --- setup: offline, quiet, cheap to import, shareable between threads --------------------------


def test_builds_offline_without_writing_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The network guard (conftest) refuses any non-loopback connection; HOME is an empty dir."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    with caplog.at_level(logging.DEBUG):
        redactor = Redactor()
        result = redactor.redact("write to ann@example.museum or +44 20 7946 0958")

    assert result.text == "write to [EMAIL] or [PHONE]"
    assert list(tmp_path.iterdir()) == []
    noisy = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert noisy == []


def test_importing_the_package_loads_no_detection_library() -> None:
    """The logging filter imports the package in every process: it must stay cheap."""
    code = (
        "import sys, storage.redaction as r; r.scrub_secrets('x'); "
        "print(*(m in sys.modules for m in ('phonenumbers', 'stdnum', 'presidio_analyzer', 'spacy')))"
    )

    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["False"] * 4


def test_building_a_redactor_loads_neither_presidio_nor_spacy() -> None:
    code = (
        "import sys, storage.redaction as r; r.Redactor().redact('a@example.com +1 415 555 0132'); "
        "print(*(m in sys.modules for m in ('presidio_analyzer', 'spacy', 'tldextract', 'detect_secrets')))"
    )

    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["False"] * 4


def test_min_phone_digits_matches_phonenumbers_metadata() -> None:
    """The phone pass is skipped below MIN_PHONE_DIGITS digits; no valid number is that short."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    from storage.redaction._redactor import MIN_PHONE_DIGITS

    lengths: list[int] = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        assert metadata is not None and metadata.general_desc is not None
        lengths.extend(length for length in metadata.general_desc.possible_length if length > 0)

    assert min(lengths) >= MIN_PHONE_DIGITS


def test_threads_share_one_redactor(redactor: Redactor) -> None:
    texts = [plant.text for plant in PLANTS] * 4
    expected = [redactor.redact(text) for text in texts]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(redactor.redact, texts)) == expected


# --- the logging filter -----------------------------------------------------------------------


@pytest.fixture
def log_output() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler has the filter, as ``bot.runtime.logs.configure_logging`` installs it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s %(detail)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redaction.filter")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


def test_filter_scrubs_message_args_extras_and_tracebacks(
    log_output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_output
    slack = "xox" + "b-1234567890-" + rand(24, seed="log")

    logger.info(f"calling with {OPENAI_LEGACY}", extra={"detail": f"header=Bearer {JWT}"})
    logger.warning("token %s for %r", slack, {"api_key": ANTHROPIC}, extra={"detail": "-"})
    try:
        raise ValueError(f"Incorrect API key provided: {OPENAI_PROJECT}")
    except ValueError:
        logger.exception("provider refused", extra={"detail": "run 42"})

    out = stream.getvalue()
    for value in (OPENAI_LEGACY, JWT, slack, ANTHROPIC, OPENAI_PROJECT):
        assert value not in out
    assert "INFO calling with [SECRET:openai] header=Bearer [SECRET:jwt]" in out
    assert "WARNING token [SECRET:slack] for {'api_key': '[SECRET:anthropic]'} -" in out
    assert "ValueError: Incorrect API key provided: [SECRET:openai]" in out
    assert "ERROR provider refused run 42" in out


def test_filter_keeps_ordinary_records_and_personal_data(
    log_output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_output

    logger.info(
        "run %s finished in %d ms for %s", "r-1", 42, "ann@example.com", extra={"detail": "lane=support"}
    )

    assert stream.getvalue() == "INFO run r-1 finished in 42 ms for ann@example.com lane=support\n"


def test_filter_withholds_args_that_do_not_fit_the_format(
    log_output: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = log_output

    logger.info("needs two %s %s", OPENAI_LEGACY, extra={"detail": "-"})

    out = stream.getvalue()
    assert OPENAI_LEGACY not in out
    assert "log arguments withheld" in out


def test_filter_is_idempotent_across_handlers() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", (OPENAI_LEGACY,), None)
    first, second = RedactingFilter(), RedactingFilter()

    assert first.filter(record) and second.filter(record)
    assert record.getMessage() == "key [SECRET:openai]"
