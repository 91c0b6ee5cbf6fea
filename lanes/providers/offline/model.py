"""``OfflineModel``: the offline sample as a ``Provider``, answering each lane with its own job.

It reads which job it is asked for from the request alone, as any model would: a JSON request
is the contract lane's summary (``contract``), a system prompt or template about code, diffs or
patches is a code suggestion (``diff``), anything else a customer reply (``reply``). The input is
recovered from the rendered prompt by matching the lane templates it was given (exact), else the
``<<< >>>`` fence the contract prompts use, else the whole prompt.

Its ``Completion`` is marked ``offline_sample``: the engine then records the tier's configured
model as the one the run would have used, and prices the sample's tokens at that model's price,
flagged as an estimate (``lanes.attempts``). Output depends only on the request (no clock, no
randomness); the response id is a hash of it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence

from lanes.config_problems import INPUT_PLACEHOLDER
from lanes.providers.base import Completion, CompletionRequest
from lanes.providers.offline.banner import BANNER, OFFLINE_MODEL
from lanes.providers.offline.contract import contract_summary
from lanes.providers.offline.diff import code_suggestion
from lanes.providers.offline.reply import support_reply

CHARS_PER_TOKEN = 4
_ABOUT_CODE = re.compile(r"\b(?:code|diff|patch|snippet|refactor|engineer)\b", re.I)


class OfflineModel:
    """``Provider`` that answers instantly and deterministically, labelled as a sample."""

    def __init__(self, templates: Iterable[str] = ()) -> None:
        # Most specific first, so "Contract:\n<<<\n{input}..." wins over a bare "{input}".
        self._templates = sorted({t for t in templates if INPUT_PLACEHOLDER in t}, key=lambda t: (-len(t), t))

    def complete(self, request: CompletionRequest) -> Completion:
        source = extract_input(request.prompt, self._templates)
        digest = hashlib.sha256(f"{request.system}\x00{request.prompt}".encode()).hexdigest()
        text = _draft(request, source)
        if not request.json_output:
            text = text[: max(request.max_output_tokens * CHARS_PER_TOKEN, len(BANNER))]
        return Completion(
            text=text,
            model_answered=OFFLINE_MODEL,
            response_id=f"offline-{digest[:16]}",
            input_tokens=_tokens(request.system + request.prompt),
            output_tokens=_tokens(text),
            finish_reason="stop",
            offline_sample=True,
        )


def _draft(request: CompletionRequest, source: str) -> str:
    if request.json_output:
        return json.dumps(contract_summary(source), ensure_ascii=False, indent=2)
    if _ABOUT_CODE.search(request.system) or _ABOUT_CODE.search(request.prompt.replace(source, "")):
        return code_suggestion(source)
    return support_reply(source)


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


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))
