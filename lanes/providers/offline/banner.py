"""The line every offline sample draft opens with, so nobody mistakes it for a model's work."""

from __future__ import annotations

OFFLINE_MODEL = "offline-sample"
"""What the offline sample reports as ``model_answered`` on its attempts: the truth at the lowest level."""

BANNER = "[offline sample model — templated from your text, no AI model was called]"
