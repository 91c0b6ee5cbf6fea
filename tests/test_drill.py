"""`lanebot drill`: every lane's fallback paths, with faults injected at the provider and
audit-store seams and no real model call. It passes on the shipped lanes.toml and fails, naming
the lane and the path, when a lane's fallback is missing or is the same model, when its checks
let a forbidden draft through, or when a budget cannot stop an unpriced tier; it can post its
table to Slack (the Slack stand-in over HTTP)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.playground.slackstub import SlackStubServer, demo_workspace
from lanes.policy_text import toml_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "lanes.toml"


def lanes_file(tmp_path: Path, edit: Any = None) -> Path:
    raw = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    if edit is not None:
        edit(raw)
    path = tmp_path / "lanes.toml"
    path.write_text(toml_text(raw), encoding="utf-8")
    return path


def drill(
    capsys: pytest.CaptureFixture[str], config: Path, *extra: str
) -> tuple[int, dict[tuple[str, str], dict[str, str]], str]:
    code = main(["drill", "--config", str(config), "--json", *extra])
    captured = capsys.readouterr()
    rows = {(r["lane"], r["path"]): r for r in json.loads(captured.out)}
    return code, rows, captured.err


def test_the_shipped_lanes_pass_every_drill(capsys) -> None:
    code = main(["drill", "--config", str(SHIPPED)])
    out = capsys.readouterr().out
    assert code == 0, out
    for lane in ("support", "contract", "code"):
        row = next(line for line in out.splitlines() if line.startswith(lane + " "))
        assert row.split()[1:] == ["PASS"] * 5 + ["n/a"]
    assert "every path behaved as lanes.toml says" in out


def test_details_say_what_each_path_did(capsys, tmp_path) -> None:
    code, rows, _ = drill(capsys, SHIPPED)
    assert code == 0
    assert rows[("support", "timeout")]["detail"].startswith("fast timed out; fallback local drafted")
    assert rows[("support", "checks")]["detail"] == "4 bad drafts stopped; escalated once to strong"
    assert rows[("contract", "checks")]["detail"].endswith("a person decides")  # high risk
    assert rows[("support", "budget")]["detail"].startswith("took the cheaper local")
    assert rows[("contract", "budget")]["detail"].startswith("stops for an owner's confirmation")
    assert rows[("support", "store_down")]["outcome"] == "pass"


def test_a_fallback_on_the_same_model_fails_the_timeout_path(capsys, tmp_path) -> None:
    def same_model(raw: dict[str, Any]) -> None:
        raw["models"]["fast_again"] = dict(raw["models"]["fast"])
        raw["lanes"]["support"]["fallback"] = "fast_again"

    code, rows, _ = drill(capsys, lanes_file(tmp_path, same_model))
    assert code == 1
    failed = rows[("support", "timeout")]
    assert failed["outcome"] == "fail" and failed["label"] == "default times out → fallback answers"
    assert "fallback fast_again is the same model as fast (openai gpt-5-mini)" in failed["detail"]
    assert rows[("code", "timeout")]["outcome"] == "pass"


def test_a_missing_fallback_is_named(capsys, tmp_path) -> None:
    config = lanes_file(tmp_path, lambda raw: raw["lanes"]["support"].pop("fallback"))
    code = main(["drill", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 1 and "lanes.support.fallback: required key is missing" in err and "Traceback" not in err


def test_checks_that_let_a_forbidden_draft_through_fail_the_checks_path(capsys, tmp_path) -> None:
    def loosen(raw: dict[str, Any]) -> None:
        raw["lanes"]["support"]["checks"]["forbid"] = ["(?i)i have deleted"]

    code, rows, _ = drill(capsys, lanes_file(tmp_path, loosen))
    assert code == 1
    failed = rows[("support", "checks")]
    assert failed["outcome"] == "fail" and failed["label"] == "draft fails checks → the lane's rule"
    assert "must_catch 'Good news: I have refunded your order.': passed the lane's checks" in failed["detail"]

    table = main(["drill", "--config", str(lanes_file(tmp_path, loosen))])
    out = capsys.readouterr().out
    assert table == 1 and "support: draft fails checks → the lane's rule: must_catch" in out
    assert "1 path(s) failed" in out


def test_an_unpriced_tier_fails_the_budget_path(capsys, tmp_path) -> None:
    def unpriced(raw: dict[str, Any]) -> None:
        raw["models"]["fast"]["model"] = "gpt-nobody-prices-this"

    code, rows, _ = drill(capsys, lanes_file(tmp_path, unpriced))
    assert code == 1
    assert "the price of fast is unknown" in rows[("support", "budget")]["detail"]


def test_cross_checked_lanes_send_disagreements_to_a_person(capsys, tmp_path) -> None:
    code, rows, _ = drill(
        capsys, lanes_file(tmp_path, lambda raw: raw["lanes"]["contract"].update(cross_check=True))
    )
    assert code == 0
    passed = rows[("contract", "cross_check")]
    assert passed["outcome"] == "pass" and "cross-check disagreement on renewal_date" in passed["detail"]


def test_the_table_can_be_posted_to_slack(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    with SlackStubServer(demo_workspace()) as stub:
        monkeypatch.setenv("SLACK_BOT_TOKEN", stub.workspace.bot_token)
        monkeypatch.setenv("SLACK_API_URL", stub.api_url)
        code = main(["drill", "--config", str(SHIPPED), "--post", "C0LANES", "--lane", "support"])
        assert code == 0
        (posted,) = stub.workspace.messages("C0LANES")
    assert posted.text.startswith("```\nfire drill of") and posted.text.endswith("```")
    row = next(line for line in posted.text.splitlines() if line.startswith("support "))
    assert row.split()[1:] == ["PASS"] * 5 + ["n/a"]
    assert "contract" not in posted.text
