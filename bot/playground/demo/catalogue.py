"""What the demo team asks its lanes: realistic requests, and who asks and decides.

Texts are written to exercise the lanes as a real team would: most support messages take the
default route, a few carry the support lane's escalation keywords ("refund", "chargeback",
"lawyer"); some code requests touch sensitive areas (passwords, billing) and so need two
approvers, and some mention a migration or a race condition and escalate. Contracts are short
but real enough for the offline sample to find parties, dates and payment terms in them, or to
say they are not there. People are those of the playground's demo workspace.
"""

from __future__ import annotations

SUPPORT = (
    "Hi, my invoice 88123 shows two charges for November. Can you check? Thanks, Dana",
    "Where is my parcel? Order 77812 was due on Monday and the tracking has not moved.",
    "I can't log in, the password reset link never arrives. Regards, Tom",
    "The kettle arrived broken, the lid is cracked. Order 55120.",
    "Please cancel my subscription at the end of the month.",
    "Do you ship to Norway, and how long does it take?",
    "My package says delivered but it is not here. Thanks, Priya",
    "I was billed twice for order 66001, please look into it.",
    "I want a refund for order 55121, the size is wrong.",
    "This is my third message. If the chargeback is not sorted I will call my bank.",
    "Our lawyer asked me to request a copy of all invoices for 2026.",
    "Two-factor codes stop working after I changed phones. Cheers, Sam",
    "The headphones stopped working after a week. Order 91002.",
    "When will the blue jacket be back in size M?",
)

CONTRACTS = (
    'SERVICES AGREEMENT\nThis Agreement is made between Northwind Traders Inc. ("Customer") and Contoso '
    'Cloud Ltd. ("Provider"), dated 2 January 2026.\n1. Term. The subscription starts on 2026-02-01 and '
    "renews automatically on 2027-02-01 for successive one-year terms.\n2. Fees. Customer shall pay $2,400 "
    "per month, payable within thirty (30) days of invoice.\n3. Termination. Either party may terminate this "
    "Agreement on 90 days' written notice.\n4. Liability. Provider's liability is capped at the fees paid in "
    "the preceding 12 months.",
    "DATA PROCESSING ADDENDUM between Fabrikam GmbH and Tailspin Toys AG. The processor acts only on "
    "documented instructions of the controller. Each party bears its own costs. The processor shall "
    "indemnify the controller for losses caused by a breach of this addendum.",
    "RESELLER AGREEMENT\nThis agreement is entered into between Litware Oy and Adventure Works LLC, "
    "effective March 1, 2026. Invoices are payable net 45. The reseller has exclusive rights in Finland. "
    "This agreement renews on March 1, 2027 unless cancelled with 60 days' notice.",
    "Consulting letter. Wide World Importers Corp. engages the consultant for a six-week review. "
    "Fees of EUR 9,000 are payable in advance. Late payments accrue interest at 1% per month.",
)

CODE = (
    "Fix the crash when name is None in app/users.py:\n```python\ndef greet(name):\n"
    "    return 'Hello ' + name.upper()\n```",
    "Rename the helper in utils/strings.js\nconst slug = (s) => s.toLowerCase()",
    "Add a retry helper for the HTTP client in app/http.py",
    "Review the password reset handler in app/auth.py:\n```python\ndef reset(token):\n"
    "    user = find_user(token)\n    user.set_password(new_password())\n```",
    "There is a race condition in the billing worker when two jobs charge the same invoice.\n"
    "```python\ndef charge(invoice):\n    if not invoice.paid:\n        gateway.charge(invoice)\n"
    "        invoice.paid = True\n```",
    "Write the migration that adds an index on orders.created_at in db/migrations/0042.sql",
    "Validate the empty cart case in app/cart.py:\n```python\ndef total(items):\n"
    "    return sum(i.price for i in items) / len(items)\n```",
)

TEXTS = {"support": SUPPORT, "contract": CONTRACTS, "code": CODE}
"""Requests per lane name of the example lanes.toml; other lanes get support-style messages."""

REQUESTERS = {
    "support": ("U0ASKER", "U0MANAGER", "U0DEV2"),
    "contract": ("U0MANAGER", "U0ASKER"),
    "code": ("U0ASKER", "U0DEV2", "U0MANAGER"),
}
DEFAULT_REQUESTERS = ("U0ASKER", "U0MANAGER")

EDIT_SUFFIX = "\n\nP.S. Reviewed and adjusted by the team before sending."
"""What a demo edit appends: a real change, so the edit distance the digest reports is honest."""
