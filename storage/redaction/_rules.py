"""Every family lanebot redacts, as one table: what it is, how it is written, how it is found and
confirmed, and what replaces it. ``docs/redaction.md`` is generated from this table (``_docs``),
and ``tests/test_redaction.py`` holds one example per family in its provider's documented format.

**Order is precedence.** When detections overlap, the merged span takes the token of the earliest
rule: a provider's own format names the secret before the generic ``key=value`` rule does
(``token: sk-proj-…`` becomes ``token: [SECRET:openai]``), a secret before personal data, an IBAN
(whose checksum covers more) before a card.

**Secrets** (``personal=False``) are redacted everywhere: before storing, in every log record
(``RedactingFilter``) and in drafts posted to Slack (``Redactor.redact_secrets``). **Personal
data** is redacted before storing and, with ``redact_before_model``, before the model sees it;
Slack shows the requester their own message as they wrote it.

**Cheap gates.** ``needles`` (one must occur in the text, as written), ``min_digits`` (the text
must hold that many digits) and ``gate`` (an expression the text must contain, searched once for
all the rules that share it) let a rule skip a text without running its own expression: most
texts hold none of these families, and most rules then cost one substring search.

**Lengths are minimums.** A provider's fixed length (Google's 35 characters after ``AIza``) is a
lower bound here, so a value pasted with extra characters stuck to it is replaced whole rather
than leaving a tail.

**Where the formats come from.** Prefixes and lengths are the providers' documented token formats,
cross-checked against the maintained scanners (detect-secrets' plugins, gitleaks' rules); national
identifiers and VAT numbers are the shapes their issuers print, confirmed by python-stdnum. We do
not import detect-secrets at run time: importing it and building its plugins costs ~300 ms, and
its expressions are narrower than the formats providers document today (Stripe keys of exactly 24
characters, GitHub tokens of exactly 36, no Google API keys). To add a family, see
``docs/redaction.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.redaction._checks import LUHN, NINO, Stdnum
from storage.redaction._detectors import (
    Assignment,
    Check,
    Custom,
    Detector,
    Pattern,
    secret_key_name,
    url_password,
)
from storage.redaction._personal import IS_IBAN, cards, emails, ibans, phones


@dataclass(frozen=True)
class Rule:
    """One family: ``entity`` names it in audit findings, ``token`` replaces its values."""

    entity: str
    token: str
    family: str  # what the docs call it
    shape: str  # the documented format, for the docs (Markdown)
    detector: Detector
    personal: bool = False
    needles: tuple[str, ...] = ()
    min_digits: int = 0
    gate: str = ""  # a regular expression the text must contain; rules sharing one search it once
    confirmed_by: str = ""  # for the docs, when the detector confirms without a ``check``
    second_pass: bool = False  # phones: looked for once everything else is replaced


# An identifier standing alone: no letter or digit touching it, and not one link of a longer chain
# of digit groups (``1-078-05-1120-9``). What precedes is checked by ``Pattern(alone=True)``; what
# follows by this lookahead. ASCII ``[0-9]``, not ``\d``: a Unicode category test per character
# makes a scan of ordinary text twice as slow.
_ALONE_END = r"(?![0-9A-Za-z])(?![-./][0-9])"


def _alone(core: str, check: Check) -> Pattern:
    return Pattern(f"(?:{core}){_ALONE_END}", check, glued=None, alone=True)


_PEM = (
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    # Normally up to the END line; a truncated block loses everything base64-like after its header.
    r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=:,\\\s-]*)"
)
_AWS_SECRET_KEY = r"[\w.-]*?(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)"
# "SSN", "ssn#", "social security number", ``"social_security_no":``, then up to 20 characters
# that are not digits ("is", ": ", "#") before nine digits, with or without separators.
_SSN_NAMED = (
    r"(?i:\b(?:ssn|social[ _.-]?security(?:[ _.-]?(?:number|num|no))?)s?\b)[^0-9\n]{0,20}?"
    r"(?<![0-9])(?P<v>[0-9]{3}([- ]?)[0-9]{2}\2[0-9]{4})(?![0-9])"
)
_ADVERTISED_SSNS = frozenset({"078051120", "219099999", "457555462"})  # printed in ads, pasted as one's own
_CAPITALS = r"[A-Z]{2}"  # IBANs, NINOs, fiscal codes, PANs and VAT numbers all start with two
_EU_VAT_PREFIXES = "AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"

_SECRETS: tuple[Rule, ...] = (
    Rule(
        "PRIVATE_KEY",
        "[SECRET:private_key]",
        "Private keys (PEM)",
        "`-----BEGIN … PRIVATE KEY-----` blocks: RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP "
        "(`PRIVATE KEY BLOCK`); a block cut short loses everything base64-like after its header",
        Pattern(_PEM, flags=re.DOTALL, glued=None),
        needles=("-----BEGIN",),
    ),
    Rule(
        "PRIVATE_KEY",
        "[SECRET:private_key]",
        "Private keys (PuTTY)",
        "`PuTTY-User-Key-File-N:` up to its `Private-MAC:` line (or the end of the text)",
        Pattern(r"PuTTY-User-Key-File-\d+:.*?(?:Private-MAC:[ \t]*[0-9a-fA-F]+|\Z)", flags=re.DOTALL),
        needles=("PuTTY-User-Key-File-",),
    ),
    Rule(
        "ANTHROPIC_KEY",
        "[SECRET:anthropic]",
        "Anthropic API keys",
        "`sk-ant-` + 20 or more of `A-Z a-z 0-9 _ -` (`sk-ant-api03-…`, `sk-ant-admin01-…`)",
        Pattern(r"sk-ant-[A-Za-z0-9_-]{20,}"),
        needles=("sk-ant-",),
    ),
    Rule(
        "OPENAI_KEY",
        "[SECRET:openai]",
        "OpenAI API keys",
        "`sk-` + 20 or more of `A-Z a-z 0-9 _ -` (`sk-…`, `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`)",
        Pattern(r"sk-(?!ant-)[A-Za-z0-9_-]{20,}"),
        needles=("sk-",),
    ),
    Rule(
        "STRIPE_KEY",
        "[SECRET:stripe]",
        "Stripe keys",
        "`sk_live_`, `rk_live_`, `pk_live_` (and `_test_`) secret, restricted and publishable keys, "
        "`whsec_` webhook secrets, + 10 or more letters and digits",
        Pattern(r"(?:[spr]k_(?:live|test)|whsec)_[0-9A-Za-z]{10,}"),
        needles=("k_live_", "k_test_", "whsec_"),
    ),
    Rule(
        "SLACK_TOKEN",
        "[SECRET:slack]",
        "Slack tokens",
        "`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-`, `xoxe.xoxp-` tokens and `xapp-` "
        "app-level tokens",
        Pattern(r"x(?:ox[abprs]|oxe(?:\.xox[bp])?|app)-[A-Za-z0-9-]{10,}"),
        needles=("xox", "xapp-"),
    ),
    Rule(
        "SLACK_WEBHOOK",
        "[SECRET:slack]",
        "Slack webhook URLs",
        "`https://hooks.slack.com/services/…`, `/workflows/…`, `/triggers/…`",
        Pattern(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[\w/-]+", glued=None),
        needles=("hooks.slack.com/",),
    ),
    Rule(
        "GITHUB_TOKEN",
        "[SECRET:github]",
        "GitHub tokens",
        "classic `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36 or more letters and digits; "
        "fine-grained `github_pat_` + 22 or more",
        Pattern(r"g(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_\w{22,255})", glued=None),
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Rule(
        "GITLAB_TOKEN",
        "[SECRET:gitlab]",
        "GitLab tokens",
        "personal `glpat-`, deploy `gldt-`, feed `glft-`, runner `glrt-` and `GR1348941`, OAuth "
        "`gloas-`, CI job `glcbt-`, trigger `glptt-`, agent `glagent-`, … + 20 or more characters",
        Pattern(
            r"(?:gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas|ffct|cit|wt)-|GR1348941)"
            r"[0-9A-Za-z_-]{20,}(?:\.[0-9A-Za-z_-]+){0,2}"
        ),
        needles=("gl", "GR1348941"),
    ),
    Rule(
        "GOOGLE_API_KEY",
        "[SECRET:google]",
        "Google API keys",
        "`AIza` + 35 of `A-Z a-z 0-9 _ -`",
        Pattern(r"AIza[0-9A-Za-z_-]{35,}"),
        needles=("AIza",),
    ),
    Rule(
        "GOOGLE_OAUTH",
        "[SECRET:google]",
        "Google OAuth secrets",
        "client secrets `GOCSPX-` + 28 characters; access tokens `ya29.` + 20 or more",
        Pattern(r"GOCSPX-[0-9A-Za-z_-]{28,}|ya29\.[0-9A-Za-z_-]{20,}"),
        needles=("GOCSPX-", "ya29."),
    ),
    Rule(
        "AZURE_STORAGE_KEY",
        "[SECRET:azure]",
        "Azure connection-string keys",
        "the value of `AccountKey=` (storage) and `SharedAccessKey=` (Service Bus, Event Hubs, IoT "
        "Hub) in a connection string",
        Pattern(r"(?:AccountKey|SharedAccessKey)=(?P<v>[A-Za-z0-9+/]{20,}={0,2})", glued=None),
        needles=("AccountKey=", "SharedAccessKey="),
    ),
    Rule(
        "AZURE_SAS_TOKEN",
        "[SECRET:azure]",
        "Azure SAS signatures",
        "the `sig=` parameter of a shared access signature URL or token",
        Pattern(r"[?&]sig=(?P<v>[0-9A-Za-z%+/=]{20,})", glued=None),
        needles=("sig=",),
    ),
    Rule(
        "AZURE_CLIENT_SECRET",
        "[SECRET:azure]",
        "Microsoft Entra ID client secrets",
        "3 characters, a digit, `Q~`, 31–34 characters",
        Pattern(r"[0-9A-Za-z_~.]{3}\dQ~[0-9A-Za-z_~.-]{31,34}(?![0-9A-Za-z_~.-])", glued="_~.-"),
        needles=("Q~",),
    ),
    Rule(
        "AWS_ACCESS_KEY_ID",
        "[SECRET:aws]",
        "AWS access key ids",
        "`AKIA`, `ASIA`, `ABIA`, `ACCA`, `A3T…` + 16 capitals and digits",
        Pattern(r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])", glued=None),
        needles=("A3T", "ABIA", "ACCA", "AKIA", "ASIA"),
    ),
    Rule(
        "AWS_SECRET_KEY",
        "[SECRET:aws]",
        "AWS secret access keys",
        "40 base64 characters assigned to `aws_secret_access_key`, `SecretAccessKey` and the like",
        Assignment(_AWS_SECRET_KEY, r"[A-Za-z0-9/+=]{40}"),
        needles=("ecret", "ECRET"),
    ),
    Rule(
        "NPM_TOKEN",
        "[SECRET:npm]",
        "npm access tokens",
        "`npm_` + 36 letters and digits (legacy `.npmrc` `_authToken=` values: generic rule)",
        Pattern(r"npm_[A-Za-z0-9]{36,}"),
        needles=("npm_",),
    ),
    Rule(
        "PYPI_TOKEN",
        "[SECRET:pypi]",
        "PyPI API tokens",
        "`pypi-AgE…` macaroons (pypi.org `pypi-AgEIcHlwaS5vcmc…`, TestPyPI `pypi-AgENdGVzdC5weXBp…`)",
        Pattern(r"pypi-AgE[A-Za-z0-9_-]{50,}"),
        needles=("pypi-AgE",),
    ),
    Rule(
        "TWILIO_KEY",
        "[SECRET:twilio]",
        "Twilio SIDs",
        "API key SIDs `SK` and account SIDs `AC` + 32 hex digits",
        Pattern(r"(?:AC|SK)[0-9a-fA-F]{32}(?![0-9A-Za-z])"),
        needles=("AC", "SK"),
    ),
    Rule(
        "SENDGRID_KEY",
        "[SECRET:sendgrid]",
        "SendGrid API keys",
        "`SG.` + 22 characters + `.` + 43 characters",
        Pattern(r"SG\.[0-9A-Za-z_-]{22,}\.[0-9A-Za-z_-]{43,}"),
        needles=("SG.",),
    ),
    Rule(
        "MAILCHIMP_KEY",
        "[SECRET:mailchimp]",
        "Mailchimp API keys",
        "32 lower-case hex digits + `-us` + data-centre number",
        Pattern(r"[0-9a-f]{32}-us\d{1,2}(?![0-9A-Za-z])"),
        needles=("-us",),
    ),
    Rule(
        "HUGGINGFACE_TOKEN",
        "[SECRET:huggingface]",
        "Hugging Face tokens",
        "`hf_` + 34 or more letters and digits",
        Pattern(r"hf_[A-Za-z0-9]{34,}"),
        needles=("hf_",),
    ),
    Rule(
        "PERPLEXITY_KEY",
        "[SECRET:perplexity]",
        "Perplexity API keys",
        "`pplx-` + 48 letters and digits",
        Pattern(r"pplx-[0-9A-Za-z]{48,}"),
        needles=("pplx-",),
    ),
    Rule(
        "SHOPIFY_TOKEN",
        "[SECRET:shopify]",
        "Shopify tokens",
        "`shpat_`, `shpca_`, `shppa_`, `shpss_` + 32 hex digits",
        Pattern(r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32,}"),
        needles=("shp",),
    ),
    Rule(
        "SQUARE_TOKEN",
        "[SECRET:square]",
        "Square tokens",
        "access tokens `sq0atp-` and OAuth secrets `sq0csp-` + 22 or more characters",
        Pattern(r"sq0(?:atp|csp)-[0-9A-Za-z_-]{22,}"),
        needles=("sq0",),
    ),
    Rule(
        "DATABRICKS_TOKEN",
        "[SECRET:databricks]",
        "Databricks tokens",
        "`dapi` + 32 hex digits",
        Pattern(r"dapi[0-9a-f]{32,}(?:-\d)?"),
        needles=("dapi",),
    ),
    Rule(
        "DIGITALOCEAN_TOKEN",
        "[SECRET:digitalocean]",
        "DigitalOcean tokens",
        "`dop_v1_`, `doo_v1_`, `dor_v1_` + 64 hex digits",
        Pattern(r"do[opr]_v1_[0-9a-f]{64,}"),
        needles=("_v1_",),
    ),
    Rule(
        "ATLASSIAN_TOKEN",
        "[SECRET:atlassian]",
        "Atlassian API tokens",
        "`ATATT3` + 150 or more characters",
        Pattern(r"ATATT3[0-9A-Za-z_=-]{150,}"),
        needles=("ATATT3",),
    ),
    Rule(
        "LINEAR_KEY",
        "[SECRET:linear]",
        "Linear API keys",
        "`lin_api_` + 40 letters and digits",
        Pattern(r"lin_api_[0-9A-Za-z]{40,}"),
        needles=("lin_api_",),
    ),
    Rule(
        "POSTMAN_KEY",
        "[SECRET:postman]",
        "Postman API keys",
        "`PMAK-` + 24 hex + `-` + 34 hex digits",
        Pattern(r"PMAK-[0-9a-f]{24,}-[0-9a-f]{34,}"),
        needles=("PMAK-",),
    ),
    Rule(
        "VAULT_TOKEN",
        "[SECRET:vault]",
        "HashiCorp Vault tokens",
        "service `hvs.` and batch `hvb.` tokens + 24 or more characters",
        Pattern(r"hv[sb]\.[0-9A-Za-z_-]{24,}"),
        needles=("hvs.", "hvb."),
    ),
    Rule(
        "GRAFANA_TOKEN",
        "[SECRET:grafana]",
        "Grafana tokens",
        "service-account `glsa_` + 32 + `_` + 8 hex; Cloud `glc_` + 32 or more base64",
        Pattern(r"glsa_[0-9A-Za-z]{32}_[0-9A-Fa-f]{8}|glc_[0-9A-Za-z+/]{32,}={0,2}"),
        needles=("glsa_", "glc_"),
    ),
    Rule(
        "TELEGRAM_BOT_TOKEN",
        "[SECRET:telegram]",
        "Telegram bot tokens",
        "bot id (5–16 digits) + `:A` + 34 characters",
        Pattern(r"[0-9]{5,16}:A[0-9A-Za-z_-]{34}(?![0-9A-Za-z_-])"),
        needles=(":A",),
    ),
    Rule(
        "AGE_SECRET_KEY",
        "[SECRET:age]",
        "age secret keys",
        "`AGE-SECRET-KEY-1` + 58 Bech32 characters",
        Pattern(r"AGE-SECRET-KEY-1[0-9A-Z]{58,}"),
        needles=("AGE-SECRET-KEY-1",),
    ),
    Rule(
        "JWT",
        "[SECRET:jwt]",
        "JSON Web Tokens",
        "`eyJ…` header `.` `eyJ…` payload `.` signature (base64url)",
        Pattern(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*", glued=None),
        needles=("eyJ",),
    ),
    Rule(
        "URL_PASSWORD",
        "[SECRET]",
        "Passwords in URLs",
        "the `password` of `scheme://user:password@host` (user and host stay readable)",
        Custom(url_password),
        needles=("://",),
    ),
    Rule(
        "GENERIC_SECRET",
        "[SECRET]",
        "Secrets under a secret's name",
        "the value assigned, in env, JSON, YAML, TOML, INI, header or query form (`k=v`, `k: v`, "
        '`"k": "v"`, `k => v`), to a key ending in key, token, secret, password, passwd, pwd, '
        "pass, pw, credential(s), signature, or holding a password/secret/token/auth word "
        "(`STRIPE_KEY`, `stripeKey`, `db_password`, `auth_header`, `Authorization: Bearer …`); "
        "not to `key` alone, `key_id`, `author`, `tokenizer`, `max_tokens`, and not values that "
        "are code (`str`, `None`, `lambda`, `os.environ[…]`, `${VAR}`)",
        Assignment(secret_key_name),
        needles=("=", ":"),
    ),
)

_PERSONAL: tuple[Rule, ...] = (
    Rule(
        "IBAN_CODE",
        "[IBAN]",
        "IBANs",
        "country code, 2 check digits and the account, in capitals, compact or in groups",
        Custom(ibans, IS_IBAN),
        personal=True,
        min_digits=2,
        gate=_CAPITALS,
    ),
    Rule(
        "CREDIT_CARD",
        "[CARD]",
        "Payment cards",
        "13–19 digits starting 1–6, compact or in groups of 3+ digits (4-4-4-4, 4-6-5, …)",
        Custom(cards, LUHN),
        personal=True,
        min_digits=13,
    ),
    Rule(
        "US_SSN",
        "[ID:us_ssn]",
        "US Social Security numbers",
        "`123-45-6789` or `123 45 6789` (area, group and serial checked; the advertised "
        "078-05-1120, 219-09-9999 and 457-55-5462 count too)",
        _alone(r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}", Stdnum("us.ssn", _ADVERTISED_SSNS)),
        personal=True,
        min_digits=9,
    ),
    Rule(
        "US_SSN",
        "[ID:us_ssn]",
        "US Social Security numbers, after their name",
        "nine digits, with or without separators, up to 20 characters after `SSN`, `ssn#`, "
        '`social security number`, `"social_security_no":` (`my SSN is 123456789`)',
        Pattern(_SSN_NAMED, Stdnum("us.ssn", _ADVERTISED_SSNS), glued=None),
        personal=True,
        needles=("ssn", "SSN", "Ssn", "ocial", "OCIAL"),
        min_digits=9,
    ),
    Rule(
        "US_ITIN",
        "[ID:us_itin]",
        "US Individual Taxpayer Identification Numbers",
        "`9XX-7X-XXXX` (the group ranges the IRS issues)",
        _alone(r"9[0-9]{2}([- ])[0-9]{2}\1[0-9]{4}", Stdnum("us.itin")),
        personal=True,
        min_digits=9,
    ),
    Rule(
        "CA_SIN",
        "[ID:ca_sin]",
        "Canadian Social Insurance Numbers",
        "`123-456-789` or `123 456 789`, Luhn-valid",
        _alone(r"[0-9]{3}([- ])[0-9]{3}\1[0-9]{3}", Stdnum("ca.sin")),
        personal=True,
        min_digits=9,
    ),
    Rule(
        "GB_NINO",
        "[ID:gb_nino]",
        "UK National Insurance numbers",
        "`AB 12 34 56 C` or `AB123456C`, in capitals (HMRC's example prefix `QQ` too)",
        _alone(r"(?:QQ|[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]", NINO),
        personal=True,
        min_digits=6,
        gate=_CAPITALS,
    ),
    Rule(
        "FR_NIR",
        "[ID:fr_nir]",
        "French social security numbers (NIR)",
        "15 digits (Corsica `2A`/`2B`), compact or grouped `2 95 10 99 126 111 93`",
        _alone(
            r"[1-478] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}", Stdnum("fr.nir")
        ),
        personal=True,
        min_digits=13,
    ),
    Rule(
        "ES_DNI",
        "[ID:es_dni]",
        "Spanish DNI numbers",
        "8 digits and a check letter, `12345678Z`",
        _alone(r"[0-9]{8}-?[A-Z]", Stdnum("es.dni")),
        personal=True,
        min_digits=8,
    ),
    Rule(
        "ES_NIE",
        "[ID:es_nie]",
        "Spanish NIE numbers",
        "`X`, `Y` or `Z`, 7 digits and a check letter, `X1234567L`",
        _alone(r"[XYZ]-?[0-9]{7}-?[A-Z]", Stdnum("es.nie")),
        personal=True,
        min_digits=7,
    ),
    Rule(
        "IT_FISCAL_CODE",
        "[ID:it_fiscal_code]",
        "Italian fiscal codes (codice fiscale)",
        "16 capitals and digits, `RSSMRA85T10A562S` (with at least 4 digits)",
        _alone(
            r"[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]",
            Stdnum("it.codicefiscale"),
        ),
        personal=True,
        min_digits=4,
        gate=_CAPITALS,
    ),
    Rule(
        "BR_CPF",
        "[ID:br_cpf]",
        "Brazilian CPF numbers",
        "`123.456.789-09`",
        _alone(r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}", Stdnum("br.cpf")),
        personal=True,
        min_digits=11,
    ),
    Rule(
        "IN_AADHAAR",
        "[ID:in_aadhaar]",
        "Indian Aadhaar numbers",
        "12 digits in groups of four, `2341 2341 2346` (Verhoeff check digit)",
        _alone(r"[2-9][0-9]{3}([ -])[0-9]{4}\1[0-9]{4}", Stdnum("in_.aadhaar")),
        personal=True,
        min_digits=12,
    ),
    Rule(
        "IN_PAN",
        "[ID:in_pan]",
        "Indian PAN numbers",
        "`ABCPD1234E`: 5 capitals, 4 digits, a capital",
        _alone(r"[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]", Stdnum("in_.pan")),
        personal=True,
        min_digits=4,
        gate=_CAPITALS,
    ),
    Rule(
        "CN_RIC",
        "[ID:cn_ric]",
        "Chinese resident identity card numbers",
        "18 characters: region, date of birth, sequence, check digit or `X`",
        _alone(
            r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]",
            Stdnum("cn.ric"),
        ),
        personal=True,
        min_digits=17,
    ),
    Rule(
        "KR_RRN",
        "[ID:kr_rrn]",
        "South Korean resident registration numbers",
        "`YYMMDD-NNNNNNN`",
        _alone(r"[0-9]{6}-[0-9]{7}", Stdnum("kr.rrn")),
        personal=True,
        min_digits=13,
    ),
    Rule(
        "SE_PERSONNUMMER",
        "[ID:se_personnummer]",
        "Swedish personal identity numbers",
        "`YYMMDD-NNNN`, `YYMMDD+NNNN` or `YYYYMMDD-NNNN` (date and Luhn checked)",
        _alone(r"(?:[0-9]{2})?[0-9]{6}[-+][0-9]{4}", Stdnum("se.personnummer")),
        personal=True,
        min_digits=10,
    ),
    Rule(
        "FI_HETU",
        "[ID:fi_hetu]",
        "Finnish personal identity codes (HETU)",
        "`DDMMYY`, century sign, 3 digits, check character: `131052-308T`",
        _alone(r"[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-FHJ-NPR-Y]", Stdnum("fi.hetu")),
        personal=True,
        min_digits=9,
    ),
    Rule(
        "VAT_NUMBER",
        "[ID:vat]",
        "EU VAT numbers",
        "country prefix (`DE`, `FR`, `EL`, `XI`, …) + the national number, compact or with one space "
        "after the prefix",
        _alone(rf"(?:{_EU_VAT_PREFIXES}) ?[0-9A-Z+*]{{8,12}}", Stdnum("eu.vat")),
        personal=True,
        min_digits=7,
        gate=_CAPITALS,
    ),
    Rule(
        "EMAIL_ADDRESS",
        "[EMAIL]",
        "E-mail addresses",
        "`local@domain.tld` in any script (`zoë@…`, `o’brien@…`, `संपर्क@डाटामेल.भारत`, full-width "
        "`＠`), ending in a real top-level domain or `.local`, `.internal`, `.corp`, `.lan`, `.home`, "
        "`.test`, `.example`",
        Custom(emails),
        personal=True,
        needles=("@", "\uff20"),
        confirmed_by="a known top-level domain (`tlds.txt`)",
    ),
    Rule(
        "PHONE_NUMBER",
        "[PHONE]",
        "Phone numbers",
        "numbers valid in the configured regions (python-phonenumbers; default US, GB, DE, FR, IL, "
        "IN, BR), national or international, also next to other numbers",
        Custom(phones),
        personal=True,
        min_digits=4,
        second_pass=True,
        confirmed_by="a valid number of the region (python-phonenumbers, leniency VALID)",
    ),
)

#: Every family, most specific first: the order decides which token names overlapping detections.
RULES: tuple[Rule, ...] = _SECRETS + _PERSONAL
#: The rules for credentials only: what the logging filter and ``redact_secrets`` apply.
SECRET_RULES: tuple[Rule, ...] = tuple(rule for rule in RULES if not rule.personal)
