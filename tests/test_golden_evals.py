"""Golden sets and `lanebot eval`, from a store seeded the way production fills one: requests
through the Slack app (signed slash commands, the real bot over HTTP, the real SDK clients against
the loopback model server) and decisions by clicking Approve / Edit / Reject in the Slack
stand-in. Then `lanebot golden harvest` writes the examples and `lanebot eval` runs them through
the current policy (passes) and through deliberately worse candidates (fails, naming the
examples that regressed), with JUnit XML and the spend cap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from bot.cli import main
from bot.slack import ids
from lanes.config import LanesConfig
from lanes.evals.golden import GoldenExample, read_golden_set
from lanes.policy_text import canonical_toml, toml_text
from tests.fakes import ModelServer
from tests.fakes.model_servers import Dynamic, Ok, RecordedRequest
from tests.slack_harness import Bot, lanes_config, running_bot, slack_and_models

FAST, STRONG, LOCAL = "gpt-5-mini", "claude-sonnet-4-6", "llama3.1:8b"
PARCEL = "Where is my parcel? You can reach me at jo.doe@example.com"
ADDRESS = "Can I change my delivery address?"
REFUND = "I want a refund for the double charge"
JOKE = "Tell me a joke"
ANSWERS = {
    PARCEL: "Your parcel left our warehouse yesterday; the tracking link follows by email.",
    ADDRESS: "Yes, reply with the new address and we will update it.",
    REFUND: "A colleague will review the double charge and follow up today.",
    JOKE: "Why did the parcel cross the road? To get to the other side!",
}
EDITED = "Yes, reply with the new address and we will update it before it ships."
SINCE = "2026-01-01"


@dataclass
class Seeded:
    db_url: str
    models: ModelServer
    config_path: Path
    config: LanesConfig
    evals: Path
    answers: dict[str, str]
    runs: dict[str, str]
    """request text -> run id"""

    def cli(
        self, capsys: pytest.CaptureFixture[str], *argv: str, config: Path | None = None
    ) -> tuple[int, str, str]:
        code = main([*argv, "--config", str(config or self.config_path), "--database-url", self.db_url])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    def candidate(self, name: str, **lane_changes: Any) -> Path:
        raw = _toml(self.config)
        raw["lanes"]["support"].update(lane_changes)
        path = self.config_path.with_name(name)
        path.write_text(toml_text(raw), encoding="utf-8")
        return path


def _toml(config: LanesConfig) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(canonical_toml(config))


def answering(answers: dict[str, str], *, fallback: str = "Thanks, a colleague will follow up.") -> Dynamic:
    """Answer each seeded request with its scripted reply, whatever the prompt around it (matched
    on its first 20 characters: the golden set holds the *redacted* request)."""

    def choose(request: RecordedRequest) -> Ok:
        text = next((reply for asked, reply in answers.items() if asked[:20] in request.prompt), fallback)
        return Ok(text)

    return Dynamic(choose)


def decide_all(bot: Bot) -> dict[str, str]:
    runs: dict[str, str] = {}
    for text in (PARCEL, ADDRESS, REFUND, JOKE, "Hello? Anyone there?"):
        runs[text] = bot.ask("U0ASKER", text).id
    bot.click("U0OWNER", bot.run(runs[PARCEL]), ids.APPROVE)
    bot.click("U0OWNER", bot.run(runs[REFUND]), ids.APPROVE)
    bot.click("U0REVIEW", bot.run(runs[ADDRESS]), ids.EDIT)
    bot.settle()
    (modal,) = bot.ws.views.open_views("U0REVIEW")
    field = modal.view["blocks"][1]
    bot.sim.submit_view("U0REVIEW", modal.id, {field["block_id"]: {ids.EDIT_PART_INPUT: EDITED}})
    bot.click("U0OWNER", bot.run(runs[JOKE]), ids.REJECT)
    bot.settle()
    (modal,) = bot.ws.views.open_views("U0OWNER")
    bot.sim.submit_view(
        "U0OWNER", modal.id, {ids.REJECT_REASON_BLOCK: {ids.REJECT_REASON_INPUT: "wrong tone"}}
    )
    bot.settle()
    assert [bot.run(runs[t]).status for t in (PARCEL, ADDRESS, REFUND, JOKE)] == [
        "approved",
        "edited",
        "approved",
        "rejected",
    ]
    return runs


@pytest.fixture
def seeded(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seeded]:
    with slack_and_models() as (stub, models):
        answers = dict(ANSWERS)
        for model in (FAST, STRONG):
            models.always(model, answering(answers))
        models.always(LOCAL, Ok("Good news: I have refunded your order."))
        config = lanes_config(models)
        with running_bot(db_url, models, stub, config) as bot:
            runs = decide_all(bot)
        for name, value in models.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        path = tmp_path / "lanes.toml"
        path.write_text(canonical_toml(config), encoding="utf-8")
        yield Seeded(db_url, models, path, config, tmp_path / "evals", answers, runs)


def harvested(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> dict[str, GoldenExample]:
    code, _out, err = seeded.cli(capsys, "golden", "harvest", "--lane", "support", "--since", SINCE)
    assert code == 0, err
    return {e.id: e for e in read_golden_set(seeded.evals / "support.jsonl", "support").examples}


def test_harvest_turns_decisions_into_reviewable_examples(seeded: Seeded, capsys) -> None:
    code, out, err = seeded.cli(capsys, "golden", "harvest", "--lane", "support", "--since", SINCE)
    assert code == 0, err
    assert "4 added (2 approved, 1 edited, 1 rejected), 0 already in the file" in out
    examples = {e.id: e for e in read_golden_set(seeded.evals / "support.jsonl", "support").examples}
    parcel, address, refund, joke = (
        examples[f"run-{seeded.runs[t]}"] for t in (PARCEL, ADDRESS, REFUND, JOKE)
    )

    assert parcel.kind == "positive" and parcel.reference == ANSWERS[PARCEL]
    assert parcel.input == "Where is my parcel? You can reach me at [EMAIL]"  # redacted, as stored
    assert parcel.decision and (parcel.decision.kind, parcel.decision.actor) == ("approve", "U0OWNER")
    assert parcel.expected_route == "default" and parcel.route and parcel.route.tier == "fast"
    assert parcel.checks and parcel.checks.passed
    assert parcel.risk == "low" and parcel.prompt_id == "support/fast" and parcel.prompt_version
    assert (
        parcel.policy_version
        and parcel.policy_hash
        and parcel.source
        and parcel.source.run_id == seeded.runs[PARCEL]
    )

    assert address.reference == EDITED and address.decision and address.decision.kind == "edit"
    assert address.decision.actor == "U0REVIEW" and (address.decision.edit_distance or 0) > 0
    assert (
        refund.expected_route == "escalation"
        and refund.route
        and "escalated: keyword 'refund'" in refund.route.reasons
    )
    assert (joke.kind, joke.rejection_reason, joke.rejected_draft) == (
        "negative",
        "wrong tone",
        ANSWERS[JOKE],
    )
    assert f"run-{seeded.runs['Hello? Anyone there?']}" not in examples  # still waiting for review

    # A second harvest adds nothing, and an owner's hand edit survives it.
    path = seeded.evals / "support.jsonl"
    path.write_text(path.read_text().replace(ANSWERS[PARCEL], "Hand-written reference."), encoding="utf-8")
    code, out, _ = seeded.cli(capsys, "golden", "harvest", "--lane", "support", "--since", SINCE)
    assert code == 0 and "0 added, 4 already in the file" in out
    assert "Hand-written reference." in path.read_text()


def test_a_lane_that_stores_no_text_cannot_be_harvested(seeded: Seeded, capsys) -> None:
    no_text = seeded.candidate("no-text.toml", store_text="none")
    code, out, err = seeded.cli(
        capsys, "golden", "harvest", "--lane", "support", "--since", SINCE, config=no_text
    )
    assert code == 1 and out == ""
    assert 'lane support stores no text (store_text = "none"' in err and "write its examples by hand" in err
    assert "Traceback" not in err and not (seeded.evals / "support.jsonl").exists()


def test_the_current_policy_passes_its_golden_set(seeded: Seeded, capsys, tmp_path) -> None:
    harvested(seeded, capsys)
    seeded.answers[JOKE] = "Happy to help with your order; what do you need?"  # the new prompt's answer
    code, out, err = seeded.cli(capsys, "eval", "--lane", "support", "--junit", str(tmp_path / "eval.xml"))
    assert code == 0, out + err
    row = next(line for line in out.splitlines() if line.startswith("support "))
    assert row.split()[1:4] == ["4", "4", "100%"] and row.endswith("PASS")
    suite = ElementTree.parse(tmp_path / "eval.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("4", "0")


def test_a_worse_candidate_fails_and_names_the_examples_that_regressed(
    seeded: Seeded, capsys, tmp_path
) -> None:
    examples = harvested(seeded, capsys)
    seeded.answers[JOKE] = "Happy to help with your order; what do you need?"
    refund_id, parcel_id = (f"run-{seeded.runs[t]}" for t in (REFUND, PARCEL))
    assert refund_id in examples

    no_refund = seeded.candidate(
        "no-refund.toml", escalate_when={"input_chars_over": 2500, "keywords": ["lawyer"]}
    )
    code, out, err = seeded.cli(
        capsys,
        "eval",
        "--lane",
        "support",
        "--baseline",
        str(seeded.config_path),
        "--junit",
        str(tmp_path / "e.xml"),
        config=no_refund,
    )
    assert code == 1 and "eval failed for lane(s) support" in err
    assert f"regressed {refund_id}: route: expected escalation, took default" in out
    assert "1 regressed, 0 fixed" in out
    cases = {c.get("name"): c for c in ElementTree.parse(tmp_path / "e.xml").getroot().iter("testcase")}
    assert cases[refund_id].find("failure") is not None and cases[parcel_id].find("failure") is None

    prompts = _toml(seeded.config)["lanes"]["support"]["prompts"]
    local = seeded.candidate(
        "local.toml", default="local", fallback="fast", prompts={**prompts, "local": prompts["fast"]}
    )
    code, out, err = seeded.cli(
        capsys, "eval", "--lane", "support", "--baseline", str(seeded.config_path), config=local
    )
    assert code == 1, err
    assert f"regressed {parcel_id}: checks: the local draft failed (forbidden pattern" in out, err
    assert f"regressed {refund_id}" not in out  # the escalation keyword still routes it to strong


def test_the_spend_cap_holds_and_unrun_examples_fail(seeded: Seeded, capsys) -> None:
    harvested(seeded, capsys)
    code, out, _err = seeded.cli(capsys, "eval", "--lane", "support", "--max-usd", "0.0015", "--json")
    assert code == 1
    report = json.loads(out)
    assert 0 < report["spent_usd"] <= 0.0015
    scores = report["lanes"][0]["scores"]
    assert any(not s["ran"] and "--max-usd" in s["failures"][0] for s in scores)
    assert any(s["ran"] for s in scores)


def test_owners_retire_examples_and_broken_files_are_explained(seeded: Seeded, capsys) -> None:
    examples = harvested(seeded, capsys)
    joke_id = f"run-{seeded.runs[JOKE]}"
    code, out, _ = seeded.cli(
        capsys, "golden", "retire", joke_id, "--lane", "support", "--reason", "out of scope"
    )
    assert code == 0 and "retired" in out
    code, out, _ = seeded.cli(capsys, "golden", "check")
    assert code == 0 and "4 examples (3 active: 3 positive, 0 negative; 1 retired) — OK" in out
    code, out, _ = seeded.cli(capsys, "eval", "--lane", "support", "--json")
    assert joke_id not in out and code == 0

    path = Path("evals/support.jsonl")  # as the CLI names it: relative to where lanebot runs
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    typo = {**first, "id": "hand-1", "refrence": "typo"}
    unreferenced = {key: value for key, value in first.items() if key != "reference"} | {"id": "hand-2"}
    lines += [
        "{not json",
        json.dumps(typo),
        json.dumps({**first, "lane": "code"}),
        lines[1],
        json.dumps(unreferenced),
    ]
    path.write_text("\n".join(lines) + "\n")
    code, out, err = seeded.cli(capsys, "golden", "check")
    assert code == 1 and "Traceback" not in err
    assert f"{path}:5: not valid JSON" in err
    assert (
        f"{path}:6: refrence: unknown key; remove it or check its spelling: did you mean 'reference'?" in err
    )
    assert f"{path}:9: reference: a positive example needs the approved text" in err
    assert f"{path}:7: lane: 'code' in lane support's golden set" in err
    assert f"{path}:8: id '{json.loads(lines[1])['id']}' is already used on line 2" in err
    assert len(examples) == 4


def test_the_documented_format_is_the_validated_one() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "golden-sets.md").read_text(encoding="utf-8")
    for name in GoldenExample.model_fields:
        assert f"`{name}`" in doc, f"docs/golden-sets.md does not document {name}"
    block = doc.split("```json\n", 1)[1].split("```", 1)[0]
    for line in block.splitlines():
        GoldenExample.model_validate_json(line)
