"""One wording for a run the offline sample answered, wherever it is shown (CLI, Slack, playground).

An offline sample run is recorded under the configured model that would have answered, with
that model's price for the sample's tokens, flagged ``cost_estimated``. Shown bare, "gpt-5-mini
· $0.0002" would read as a real call and a real bill; so every surface says the same three
things, in this order: "offline sample · would have used gpt-5-mini · est. $0.0002".
"""

from __future__ import annotations


def cost_text(cost_usd: float | None, cost_known: bool, *, estimated: bool = False) -> str:
    """A run's cost as people read it: "$0.0123", "price unknown", or "est. $0.0002"."""
    if not cost_known or (estimated and cost_usd is None):
        return "est. price unknown" if estimated else "price unknown"
    amount = f"${cost_usd or 0:.4f}"
    return f"est. {amount}" if estimated else amount


def offline_line(model: str | None, cost_usd: float | None, cost_known: bool) -> str:
    """ "offline sample · would have used <model> · est. $x" for a run the offline sample answered."""
    would = model or "the configured model"
    return f"offline sample · would have used {would} · {cost_text(cost_usd, cost_known, estimated=True)}"


def drafted_by(model: str | None, estimated: bool) -> str | None:
    """Who wrote a draft, for its header: the model, or the offline sample standing in for one."""
    if not estimated:
        return model
    return f"the offline sample (would have used {model})" if model else "the offline sample"
