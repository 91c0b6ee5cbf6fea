"""The built-in offline sample model: lanebot runs end to end with no API keys and no network.

It is not a language model and never pretends to be one. Each lane gets a draft of its own kind,
made from the request by rules a reviewer can check:

    banner.py     the line every draft opens with, and the name the sample answers under
    reply.py      support: a templated reply picked by what the message is about
    contract.py   contract: parties, dates and payment terms found in the text, quoted verbatim
    diff.py       code: a small, well-formed unified diff of the request's own code
    model.py      OfflineModel, the ``Provider`` that picks the job and marks its answer a sample

A run it answers is recorded under the model the tier is configured with ("would have used
gpt-5-mini") with an estimated cost, flagged as such, so the audit trail and the digest show
what lanebot would have done and cost, never that a real model answered.
"""

from __future__ import annotations

from lanes.providers.offline.banner import BANNER, OFFLINE_MODEL
from lanes.providers.offline.contract import contract_summary
from lanes.providers.offline.diff import code_suggestion
from lanes.providers.offline.model import OfflineModel, extract_input
from lanes.providers.offline.reply import support_reply, topic_of

__all__ = [
    "BANNER",
    "OFFLINE_MODEL",
    "OfflineModel",
    "code_suggestion",
    "contract_summary",
    "extract_input",
    "support_reply",
    "topic_of",
]
