"""Every family of the rules table, from an example in its issuer's documented format; the key
names, scripts and identifiers the old redactor missed; and the ordinary text none may touch.

Each row of ``storage.redaction.RULES`` must have an example here (adding a rule without one
fails ``test_every_rule_has_an_example``), and ``docs/redaction.md`` must list exactly the table.
Secrets are assembled from parts at run time (``"sk" + "_live_"``…) so that this file holds no
string a secret scanner would flag.
"""

from __future__ import annotations

import base64
import random
import re
import string
import subprocess
import sys
import unicodedata
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.redaction import RULES, SECRET_RULES, Redacted, Redactor, scrub_secrets
from storage.redaction._checks import LUHN
from storage.redaction._detectors import TOKEN_RE, secret_key_name
from storage.redaction._docs import families_markdown
from storage.redaction._personal import _mod97_prefixes

ROOT = Path(__file__).resolve().parents[1]
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"


def rand(n: int, alphabet: str = ALNUM, seed: str = "") -> str:
    """Deterministic random-looking characters: the same test data on every run."""
    return "".join(random.Random(f"families:{seed}:{n}:{alphabet}").choices(alphabet, k=n))


def b64(n_bytes: int, seed: str) -> str:
    return base64.b64encode(random.Random(seed).randbytes(n_bytes)).decode()


@dataclass(frozen=True)
class Example:
    """``text`` holds ``value``; redacted, it must read ``expected``."""

    text: str
    value: str
    expected: str


def around(value: str, token: str) -> Example:
    return Example(f"see {value} here", value, f"see {token} here")


def assigned(template: str, value: str, token: str) -> Example:
    return Example(template.format(value), value, template.format(token))


PUTTY_PRIVATE = b64(48, "putty")
AZURE_ACCOUNT_KEY = b64(64, "azure-account")
AZURE_SHARED_KEY = b64(32, "azure-shared")
AZURE_SIG = b64(32, "azure-sig")

# Family (as the table names it) -> examples in the documented format.
EXAMPLES: dict[str, list[Example]] = {
    "Private keys (PEM)": [
        around(f"-----BEGIN {kind}PRIVATE KEY-----\n{b64(96, kind)}\n-----END {kind}PRIVATE KEY-----", t)
        for kind, t in [("", "[SECRET:private_key]"), ("DSA ", "[SECRET:private_key]")]
    ],
    "Private keys (PuTTY)": [
        around(
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: k\nPublic-Lines: 2\n"
            f"{b64(48, 'putty-pub')}\nPrivate-Lines: 1\n{PUTTY_PRIVATE}\nPrivate-MAC: {rand(64, HEX, 'mac')}",
            "[SECRET:private_key]",
        )
    ],
    "Anthropic API keys": [around("sk" + "-ant-admin01-" + rand(93, URLSAFE, "ant"), "[SECRET:anthropic]")],
    "OpenAI API keys": [
        around(
            "sk" + "-svcacct-" + rand(74, URLSAFE, "svc") + "T3Blbk" + "FJ" + rand(74, URLSAFE),
            "[SECRET:openai]",
        )
    ],
    "Stripe keys": [
        around(prefix + rand(length, ALNUM, prefix), "[SECRET:stripe]")
        for prefix, length in [
            ("sk" + "_live_", 24),
            ("sk" + "_live_", 99),
            ("rk" + "_live_", 99),
            ("pk" + "_live_", 99),
            ("sk" + "_test_", 24),
            ("wh" + "sec_", 32),
        ]
    ],
    "Slack tokens": [around("xox" + "b-2048-4096-" + rand(24, ALNUM, "slack"), "[SECRET:slack]")],
    "Slack webhook URLs": [
        around("https://hooks.slack.com/" + "workflows/T0/A0/1/" + rand(24, ALNUM, "wf"), "[SECRET:slack]")
    ],
    "GitHub tokens": [
        around("gh" + "o_" + rand(36, ALNUM, "gho"), "[SECRET:github]"),
        around("github" + "_pat_11" + rand(20, ALNUM, "p1") + "_" + rand(59, ALNUM, "p2"), "[SECRET:github]"),
    ],
    "GitLab tokens": [
        around("gl" + "pat-" + rand(20, URLSAFE, "glpat"), "[SECRET:gitlab]"),
        around("gl" + "dt-" + rand(20, URLSAFE, "gldt"), "[SECRET:gitlab]"),
        around("GR134" + "8941" + rand(20, URLSAFE, "runner"), "[SECRET:gitlab]"),
    ],
    "Google API keys": [around("AI" + "za" + "Sy" + rand(33, URLSAFE, "google"), "[SECRET:google]")],
    "Google OAuth secrets": [
        around("GOC" + "SPX-" + rand(28, URLSAFE, "gocspx"), "[SECRET:google]"),
        around("ya" + "29." + rand(120, URLSAFE, "ya29"), "[SECRET:google]"),
    ],
    "Azure connection-string keys": [
        Example(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
            + AZURE_ACCOUNT_KEY
            + ";EndpointSuffix=core.windows.net",
            AZURE_ACCOUNT_KEY,
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[SECRET:azure];"
            "EndpointSuffix=core.windows.net",
        ),
        Example(
            "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey="
            + AZURE_SHARED_KEY,
            AZURE_SHARED_KEY,
            "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=[SECRET:azure]",
        ),
    ],
    "Azure SAS signatures": [
        Example(
            "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&sp=r&sig="
            + urllib.parse.quote(AZURE_SIG, ""),
            urllib.parse.quote(AZURE_SIG, ""),
            "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&sp=r&sig=[SECRET:azure]",
        )
    ],
    "Microsoft Entra ID client secrets": [around("Zx1" + "8Q~" + rand(34, ALNUM, "entra"), "[SECRET:azure]")],
    "AWS access key ids": [
        around("AB" + "IA" + rand(16, string.ascii_uppercase + string.digits), "[SECRET:aws]")
    ],
    "AWS secret access keys": [
        assigned("aws_secret_access_key = {}", rand(40, ALNUM + "/+", "aws-secret"), "[SECRET:aws]")
    ],
    "npm access tokens": [around("np" + "m_" + rand(36, ALNUM, "npm"), "[SECRET:npm]")],
    "PyPI API tokens": [
        around("py" + "pi-AgEIcHlwaS5vcmc" + rand(70, URLSAFE, "pypi"), "[SECRET:pypi]"),
        around("py" + "pi-AgENdGVzdC5weXBpLm9yZw" + rand(70, URLSAFE, "testpypi"), "[SECRET:pypi]"),
    ],
    "Twilio SIDs": [
        around("S" + "K" + rand(32, HEX, "twilio-sk"), "[SECRET:twilio]"),
        around("A" + "C" + rand(32, HEX, "twilio-ac"), "[SECRET:twilio]"),
    ],
    "SendGrid API keys": [
        around("S" + "G." + rand(22, URLSAFE, "sg1") + "." + rand(43, URLSAFE, "sg2"), "[SECRET:sendgrid]")
    ],
    "Mailchimp API keys": [around(rand(32, HEX, "mc") + "-us" + "21", "[SECRET:mailchimp]")],
    "Hugging Face tokens": [
        around("h" + "f_" + rand(34, string.ascii_letters, "hf"), "[SECRET:huggingface]")
    ],
    "Perplexity API keys": [around("pp" + "lx-" + rand(48, ALNUM, "pplx"), "[SECRET:perplexity]")],
    "Shopify tokens": [around("shp" + "at_" + rand(32, HEX, "shopify"), "[SECRET:shopify]")],
    "Square tokens": [
        around("sq0" + "atp-" + rand(22, URLSAFE, "sqatp"), "[SECRET:square]"),
        around("sq0" + "csp-" + rand(43, URLSAFE, "sqcsp"), "[SECRET:square]"),
    ],
    "Databricks tokens": [around("da" + "pi" + rand(32, HEX, "dapi"), "[SECRET:databricks]")],
    "DigitalOcean tokens": [around("do" + "p_v1_" + rand(64, HEX, "do"), "[SECRET:digitalocean]")],
    "Atlassian API tokens": [around("ATA" + "TT3" + rand(186, URLSAFE + "=", "atl"), "[SECRET:atlassian]")],
    "Linear API keys": [around("lin" + "_api_" + rand(40, ALNUM, "linear"), "[SECRET:linear]")],
    "Postman API keys": [
        around("PM" + "AK-" + rand(24, HEX, "pm1") + "-" + rand(34, HEX, "pm2"), "[SECRET:postman]")
    ],
    "HashiCorp Vault tokens": [around("hv" + "s." + rand(90, URLSAFE, "vault"), "[SECRET:vault]")],
    "Grafana tokens": [
        around("gl" + "sa_" + rand(32, ALNUM, "glsa") + "_" + rand(8, HEX, "glsa8"), "[SECRET:grafana]"),
        around("gl" + "c_" + rand(120, ALNUM + "+/", "glc") + "==", "[SECRET:grafana]"),
    ],
    "Telegram bot tokens": [around("110201543" + ":AA" + rand(33, URLSAFE, "tg"), "[SECRET:telegram]")],
    "age secret keys": [
        around("AGE-SECRET" + "-KEY-1" + rand(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", "age"), "[SECRET:age]")
    ],
    "JSON Web Tokens": [
        around(
            "eyJ" + rand(30, URLSAFE, "h") + ".eyJ" + rand(60, URLSAFE, "p") + "." + rand(43, URLSAFE, "s"),
            "[SECRET:jwt]",
        )
    ],
    "Passwords in URLs": [assigned("redis://default:{}@cache.internal:6379/0", "s3cr3t-Pa55", "[SECRET]")],
    "Secrets under a secret's name": [
        assigned("STRIPE_KEY={}", rand(30, ALNUM, "stripe-key"), "[SECRET]"),
        assigned('{{"stripeKey": "{}"}}', rand(30, ALNUM, "stripeKey"), "[SECRET]"),
        assigned("payments:\n  signing_secret: {}\n", rand(30, ALNUM, "yaml"), "[SECRET]"),
    ],
    "IBANs": [around("BE71 0961 2345 6769", "[IBAN]"), around("LV97HABA0012345678910", "[IBAN]")],
    "Payment cards": [around("3530 1113 3330 0000", "[CARD]")],  # JCB's test card
    "US Social Security numbers": [
        around("536-90-4399", "[ID:us_ssn]"),
        around("078-05-1120", "[ID:us_ssn]"),
    ],
    "US Social Security numbers, after their name": [
        assigned("ssn={}", "536904399", "[ID:us_ssn]"),
        assigned('{{"social_security_number": "{}"}}', "536 90 4399", "[ID:us_ssn]"),
        assigned("My SSN is {}, thanks", "536904399", "[ID:us_ssn]"),
        assigned("Social Security No. {}", "457-55-5462", "[ID:us_ssn]"),
    ],
    "US Individual Taxpayer Identification Numbers": [around("912-90-3456", "[ID:us_itin]")],
    "Canadian Social Insurance Numbers": [
        around("123-456-782", "[ID:ca_sin]"),
        around("123 456 782", "[ID:ca_sin]"),
    ],
    "UK National Insurance numbers": [
        around("AB 12 34 56 C", "[ID:gb_nino]"),
        around("JG103759A", "[ID:gb_nino]"),
    ],
    "French social security numbers (NIR)": [
        around("2 95 10 99 126 111 93", "[ID:fr_nir]"),
        around("295109912611193", "[ID:fr_nir]"),
    ],
    "Spanish DNI numbers": [around("54362315K", "[ID:es_dni]"), around("54362315-K", "[ID:es_dni]")],
    "Spanish NIE numbers": [around("X2482300W", "[ID:es_nie]")],
    "Italian fiscal codes (codice fiscale)": [around("RCCMNL83S18D969H", "[ID:it_fiscal_code]")],
    "Brazilian CPF numbers": [around("390.533.447-05", "[ID:br_cpf]")],
    "Indian Aadhaar numbers": [around("2341 2341 2346", "[ID:in_aadhaar]")],
    "Indian PAN numbers": [around("ACUPA7085R", "[ID:in_pan]")],
    "Chinese resident identity card numbers": [around("360426199101010071", "[ID:cn_ric]")],
    "South Korean resident registration numbers": [around("971013-9019902", "[ID:kr_rrn]")],
    "Swedish personal identity numbers": [
        around("880320-0016", "[ID:se_personnummer]"),
        around("19880320-0016", "[ID:se_personnummer]"),
    ],
    "Finnish personal identity codes (HETU)": [around("131052-308T", "[ID:fi_hetu]")],
    "EU VAT numbers": [
        around("DE136695976", "[ID:vat]"),
        around("ATU57194903", "[ID:vat]"),
        around("FR 61954506077", "[ID:vat]"),
    ],
    "E-mail addresses": [around("ann.lee@example.com", "[EMAIL]")],
    "Phone numbers": [around("+55 11 96123-4567", "[PHONE]")],
}
RULE_OF = {rule.family: rule for rule in RULES}
CASES = [(family, i, example) for family, examples in EXAMPLES.items() for i, example in enumerate(examples)]


def test_every_rule_has_an_example_and_families_are_unique() -> None:
    assert len(RULE_OF) == len(RULES)
    assert sorted(EXAMPLES) == sorted(RULE_OF)


@pytest.mark.parametrize(("family", "i", "example"), CASES, ids=[f"{f}-{i}" for f, i, _ in CASES])
def test_each_family_is_replaced_by_its_token(
    redactor: Redactor, family: str, i: int, example: Example
) -> None:
    rule = RULE_OF[family]

    result = redactor.redact(example.text)

    assert result == Redacted(example.expected, (rule.entity,))
    assert rule.token in example.expected and example.value not in result.text
    assert redactor.redact(result.text) == Redacted(result.text, ())  # idempotent


@pytest.mark.parametrize(("family", "i", "example"), CASES, ids=[f"{f}-{i}" for f, i, _ in CASES])
def test_secrets_also_leave_logs_and_slack_and_personal_data_stays_there(
    family: str, i: int, example: Example
) -> None:
    rule = RULE_OF[family]

    scrubbed = scrub_secrets(example.text)

    if rule.personal:
        assert scrubbed == Redacted(example.text, ())
    else:
        assert scrubbed == Redacted(example.expected, (rule.entity,))


def test_secret_rules_come_first_so_ranks_agree_between_redactor_and_log_filter() -> None:
    assert RULES[: len(SECRET_RULES)] == SECRET_RULES
    assert all(rule.personal for rule in RULES[len(SECRET_RULES) :])


def test_every_token_is_recognised_as_one_so_redaction_is_idempotent() -> None:
    for rule in RULES:
        assert TOKEN_RE.fullmatch(rule.token), rule.token


def test_the_needles_of_each_rule_occur_in_its_examples() -> None:
    """A needle that the documented format does not contain would switch the rule off."""
    for family, examples in EXAMPLES.items():
        rule = RULE_OF[family]
        for example in examples:
            assert not rule.needles or any(n in example.text for n in rule.needles), family


# --- secrets under key names of every style ----------------------------------------------------

SECRET_KEYS = [
    "STRIPE_KEY",
    "stripeKey",
    "stripe-key",
    "stripe.key",
    "accountKey",
    "Ocp-Apim-Subscription-Key",
    "SIGNING_SECRET",
    "client_secret",
    "DB_PASSWORD",
    "dbPassword",
    "mysqlpassword",
    "SMTP_PASS",
    "REDIS_PW",
    "MYSQL_PWD",
    "passwd",
    "SERVICE_CREDENTIAL",
    "gcpCredentials",
    "REFRESH_TOKEN",
    "oauthtoken",
    "_authToken",
    "WEBHOOK_SIGNATURE",
    "apikey",
    "x-api-key",
    "secret_key_base",
    "auth_header",
]
FORMS = [
    "{k}={v}",
    "export {k}='{v}'",
    '{{"{k}": "{v}"}}',
    "{k}: {v}\nnext: 1",
    '{k} = "{v}"',
    "--{k}={v}",
    "{k} => '{v}'",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
@pytest.mark.parametrize("form", FORMS)
def test_a_value_under_any_secret_name_is_replaced(redactor: Redactor, key: str, form: str) -> None:
    value = rand(28, ALNUM, key)

    result = redactor.redact(form.format(k=key, v=value))

    assert result.text == form.format(k=key, v="[SECRET]")
    assert value not in result.text and value not in redactor.redact_secrets(form.format(k=key, v=value))


@pytest.mark.parametrize(
    "key",
    [
        "key",
        "monkey",
        "turkey",
        "key_id",
        "keyboard",
        "author",
        "tokenizer",
        "max_tokens",
        "passenger",
        "secretary",
    ],
)
def test_names_that_only_look_like_secret_names_are_not(key: str) -> None:
    assert not secret_key_name(key)


@pytest.mark.parametrize(
    "text",
    [
        'api_key = os.environ["OPENAI_API_KEY"]',
        "token = os.getenv('SLACK_TOKEN')",
        "STRIPE_KEY: ${STRIPE_KEY}",
        "password: {{ secrets.DB_PASSWORD }}",
        "rows.sort(key=lambda r: r.created_at)",
        "id = Column(Integer, primary_key=True)",
        '{"key": "priority", "value": "high"}',
    ],
)
def test_where_a_secret_comes_from_is_not_a_secret(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted(text, ())


# --- e-mail addresses in every script -----------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "josé.garcía@example.com",
        "jörg.müller-lüdenscheidt@bücher.de",
        unicodedata.normalize("NFD", "renée.çelik@example.fr"),  # decomposed: e + combining accent
        "संपर्क@डाटामेल.भारत",
        "दीपक.शर्मा@example.in",
        "用户@例子.中国",
        "иван.петров@пример.рф",
        "θέμα@παράδειγμα.ελ",
        "อีเมล@ตัวอย่าง.ไทย",
        "síle.o’brien@example.ie",  # typographic apostrophe
        "col·lega@example.cat",
        "ζωή♥@example.gr",
        "👩\u200d💻dev@example.com",  # an emoji sequence with a zero-width joiner
        "ゆうこ・たなか@example.jp",
        "yuko\uff20example.jp",  # a full-width at sign, as CJK keyboards type it
        "ann_o'neil+tag@mail.corp-example.com",
        "bob@xn--bcher-kva.de",
        "ops@build.internal",
    ],
)
def test_email_addresses_in_any_script_are_replaced_whole(redactor: Redactor, address: str) -> None:
    result = redactor.redact(f"write to {address}, today")

    assert result == Redacted("write to [EMAIL], today", ("EMAIL_ADDRESS",))


def test_an_address_in_a_query_string_is_replaced_but_url_userinfo_is_not_an_address(
    redactor: Redactor,
) -> None:
    result = redactor.redact(
        "https://app.example/unsubscribe?u=zoë@example.org and ssh://git@git.example.org/r"
    )

    assert result.text == "https://app.example/unsubscribe?u=[EMAIL] and ssh://git@git.example.org/r"


# --- ordinary text stays ----------------------------------------------------------------------

UNTOUCHED = [
    # dates and times
    "Due 2024-05-01, 01/05/2024, 1.5.2024, 2024-05-01T12:30:00Z, 20240501 and 3 November 2024.",
    "Week 2024-W18; Q2 2024; 12:30-14:00; 24 h; 2024-05-01/2024-05-31; 1 May-31 May.",
    # order numbers, tickets, versions, money
    "Order 48213, #1234567, PO-2024-00042, INV-000123, ticket ABC-1234, case 00123456 shipped.",
    "Invoice 2024/05/0042 for $1,234,567.89, lot 123-45-678, part 123-456-78 and 1234-5678-9012.",
    "lanebot 0.1.0 on Python 3.11.7, SQLite 3.40.1, build 20240501.1234, port 5432, PID 48213.",
    "Hours 9-17; room 4.12; IP 10.0.0.1 and 192.168.1.20; UUID 123e4567-e89b-12d3-a456-426614174000.",
    # code: hashes, identifiers, expressions
    "commit 3f1c2e9a7b8d4c5e6f708192a3b4c5d6e7f80912 (HEAD -> main), cherry-pick 9fceb02",
    "sha256:9b2e7a1c4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "md5 d41d8cd98f00b204e9800998ecf8427e, sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "for key, value in settings.items():\n    cache_keys.append(key)  # 32 keys max",
    "y = X@W.T + b; img = load('icon@2x.png'); x = a@b.shape",
    "ACCEPTANCE, SKIPPED and ACTIVE tests; ESCALATED to DEADLINE; ATTENTION: FRENCH and DEUTSCH.",
    "The SKU ABCDE12345 and the ISBN 978-3-16-148410-0 and EAN 4006381333931.",
    "user@localhost and @channel and name@host are not addresses; neither is foo@bar.",
]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_dates_order_numbers_versions_and_code_stay(redactor: Redactor, text: str) -> None:
    assert redactor.redact(text) == Redacted(text, ())


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",  # SSN area 000 is never issued
        "666-12-3456",
        "123-00-4567",
        "123-456-789",  # not Luhn: no SIN
        "DE136695977",  # VAT check digit wrong
        "54362315A",  # DNI letter wrong
        "RCCMNL83S18D969A",  # fiscal code check letter wrong
        "390.533.447-06",  # CPF check digits wrong
        "2341 2341 2347",  # Aadhaar Verhoeff digit wrong
        "BG 12 34 56 A",  # NINO prefix never issued
    ],
)
def test_identifier_shapes_that_fail_their_checks_stay(redactor: Redactor, text: str) -> None:
    assert redactor.redact(f"ref {text} ok") == Redacted(f"ref {text} ok", ())


# --- the docs list exactly the table ------------------------------------------------------------

DOC = ROOT / "docs" / "redaction.md"
_GENERATED = re.compile(r"<!-- families: start -->\n(.*)<!-- families: end -->", re.DOTALL)


def test_docs_list_exactly_the_families_of_the_table() -> None:
    """Regenerate with ``python -m storage.redaction._docs`` after changing ``_rules``."""
    found = _GENERATED.search(DOC.read_text(encoding="utf-8"))

    assert found is not None, "docs/redaction.md lost its generated section markers"
    assert found.group(1) == families_markdown()


def test_the_docs_generator_rewrites_only_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "redaction.md"
    doc.write_text(
        "intro\n<!-- families: start -->\nstale\n<!-- families: end -->\noutro\n", encoding="utf-8"
    )

    subprocess.run([sys.executable, "-m", "storage.redaction._docs", str(doc)], cwd=ROOT, check=True)

    assert doc.read_text(encoding="utf-8") == (
        f"intro\n<!-- families: start -->\n{families_markdown()}<!-- families: end -->\noutro\n"
    )


# --- the checks ---------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.text("0123456789", min_size=1, max_size=25))
def test_our_luhn_agrees_with_python_stdnum(digits: str) -> None:
    from stdnum import luhn

    assert LUHN(digits) == luhn.is_valid(digits)


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=4, max_size=34))
def test_the_one_pass_iban_checksum_agrees_with_the_definition(chars: str) -> None:
    def mod97(iban: str) -> bool:
        return int("".join(str(int(c, 36)) for c in iban[4:] + iban[:4])) % 97 == 1

    expected = {n for n in range(15, len(chars) + 1) if mod97(chars[:n])}
    assert _mod97_prefixes(chars) == expected
