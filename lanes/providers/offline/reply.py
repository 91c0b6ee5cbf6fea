"""The offline sample's support reply: a templated answer to what the customer wrote about.

A support lane's value shows in a draft that fits the message: a parcel question gets a
tracking answer, a double charge a billing one. The sample picks one topic by keywords (first
match in ``TOPICS`` order, most specific first), greets the customer by the name they signed
with, and repeats the order number they gave, so a reviewer can judge the loop on a believable
draft. It follows the lane's own rules: it never promises a refund and never claims that an
action was taken (the support lane's ``forbid`` check), and it stays under 150 words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lanes.providers.offline.banner import BANNER


@dataclass(frozen=True)
class Topic:
    name: str
    pattern: re.Pattern[str]
    body: str
    """The reply's middle; ``{order}`` is " (order 123)" when the customer gave one, else empty."""


def _topic(name: str, pattern: str, body: str) -> Topic:
    return Topic(name, re.compile(pattern, re.I), body)


TOPICS = (
    _topic(
        "login",
        r"log ?in|sign ?in|password|locked out|two[- ]factor|2fa|reset link|can'?t access",
        'Sorry you are locked out. Please try the "Forgot password" link on the sign-in page; the reset '
        "email can take a few minutes and sometimes lands in spam. If it still does not work, reply with "
        "the email address on the account and a colleague will check it with you.",
    ),
    _topic(
        "billing",
        r"charged twice|double charge|two charges|duplicate|overcharg|invoice|billed|billing|charge",
        "Thank you for flagging the charges{order}. I understand how worrying a duplicate payment is. "
        "Our billing team will compare the payments with your invoice and get back to you with what they "
        "find and the next steps.",
    ),
    _topic(
        "refund",
        r"refund|money back|reimburse|return(?:ed|ing)? (?:it|the|my)",
        "Thank you for getting in touch about a refund{order}. Your request goes to the team that reviews "
        "refunds, who will check it against our policy and reply with the options available to you.",
    ),
    _topic(
        "damaged",
        r"broken|damaged|defect|faulty|not working|stopped working|cracked",
        "I am sorry the item arrived in that state{order}. Could you send a photo of the damage and of the "
        "packaging? With those, a colleague will go through the replacement or repair options with you.",
    ),
    _topic(
        "delivery",
        r"parcel|package|deliver|shipping|shipment|tracking|courier|arrive|where is my order",
        "Sorry your parcel has not reached you yet{order}. Deliveries can be held up at the local depot for "
        "a day or two. We will check the tracking with the courier and update you as soon as we know where "
        "it is.",
    ),
    _topic(
        "cancel",
        r"cancel|unsubscribe|close my account|stop my subscription",
        "Thank you for letting us know{order}. A colleague will confirm the cancellation terms that apply "
        "to your plan and what happens to your data, before anything is changed.",
    ),
)
GENERAL = (
    "Thank you for your message{order}. A colleague will look into it and get back to you; if there is "
    "anything you can add in the meantime (screenshots, dates, an order number), just reply here."
)
_SIGNED = re.compile(
    r"(?:thanks|thank you|regards|best|cheers|sincerely)[,!.]?\s+([A-Z][a-z]{1,20})\W*$", re.I | re.M
)
_ORDER = re.compile(
    r"\b(?:order|ticket|invoice)\b\s*(?:no\.?|number|#)?\s*#?\s*([A-Z0-9-]*\d[A-Z0-9-]{2,})", re.I
)


def topic_of(message: str) -> str:
    """The topic a message is about, as ``TOPICS`` names it, or ``general``."""
    return next((topic.name for topic in TOPICS if topic.pattern.search(message)), "general")


def support_reply(message: str) -> str:
    """A short, friendly reply to ``message`` that promises nothing a person has not decided."""
    body = next((topic.body for topic in TOPICS if topic.pattern.search(message)), GENERAL)
    order = _ORDER.search(message)
    signed = _SIGNED.search(message)
    greeting = f"Hi {signed.group(1).capitalize()}," if signed else "Hi there,"
    return "\n\n".join(
        (
            BANNER,
            greeting,
            body.format(order=f" (order {order.group(1)})" if order else ""),
            "Best regards,\nSupport team",
        )
    )
