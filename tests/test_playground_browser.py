"""The playground in a real headless browser: Debian's chromium driven by Playwright.

The same servers as ``tests/test_playground.py`` (the real bot, the Slack stand-in, SQLite), but
every gesture is a real click or keystroke on the page: a slash command typed in the composer,
buttons in the thread, the Edit and Reject modals, the acting-user switcher. Each scenario saves
screenshots to ``test-artifacts/playground/`` so a person can see what a newcomer sees.

Skipped when chromium is not installed, unless ``LANEBOT_REQUIRE_BROWSER=1`` (CI), then it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground import Playground
from bot.slack import ids
from tests.test_playground import ASKER, OUTSIDER, OWNER, REPO, REVIEWER, Rig

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts" / "playground"
TIMEOUT_MS = 30_000


def chromium_path() -> str | None:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("LANEBOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message}, and LANEBOT_REQUIRE_BROWSER=1 requires the browser tests to run")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    database = f"sqlite:///{tmp_path_factory.mktemp('browser')}/audit.db"
    with Playground(database=database, config_file=str(REPO / "lanes.toml"), env={}) as playground:
        yield Rig(playground)


@pytest.fixture
def page(browser: Any, rig: Rig) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(f"{rig.pg.url}?as={ASKER}")
    opened.locator("[data-testid=persona-requester].active").wait_for()
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def act_as(page: Any, persona: str) -> None:
    page.click(f"[data-testid=persona-{persona}]")
    page.locator(f"[data-testid=persona-{persona}].active").wait_for()


def run_lane(page: Any, text: str) -> Any:
    """Type ``/support text`` and press Enter; returns the thread pane once the draft is in it."""
    composer = page.locator("[data-testid=composer]")
    composer.fill(f"/support {text}")
    composer.press("Enter")
    thread = page.locator("[data-testid=thread]")
    thread.locator(".msg", has_text=text).first.wait_for()
    thread.locator(f"button[data-action-id={ids.APPROVE}]").wait_for()
    return thread


def draft_in(thread: Any) -> Any:
    return thread.locator(".msg", has=thread.page.locator(f"[data-block-id={ids.DRAFT_CONTEXT_BLOCK}]")).last


def run_status(rig: Rig, thread: Any) -> str:
    ts = draft_in(thread).get_attribute("data-ts")
    message = rig.ws.message("C0LANES", ts)
    assert message is not None
    return rig.run_of(message).status


def test_a_full_run_from_slash_command_to_an_approved_draft(page: Any, rig: Rig) -> None:
    composer = page.locator("[data-testid=composer]")
    composer.fill("/su")
    page.locator(".autocomplete .ac-item[data-command='/support']").wait_for()
    shot(page, "01-slash-command-autocomplete")

    thread = run_lane(page, "Customer says they were charged twice")

    ack = page.locator("[data-testid=messages] .msg.ephemeral", has_text="Working on your")
    assert ack.locator(".only-you").inner_text().startswith("Only visible to you")
    draft = draft_in(thread)
    assert "offline sample model" in draft.inner_text()
    assert "route default: default for lane support" in draft.locator(".bk-context").last.inner_text()
    shot(page, "02-draft-in-thread")

    act_as(page, "owner")
    draft.locator(f"button[data-action-id={ids.APPROVE}]").click()

    thread.locator(".msg", has_text="Approved by @Olivia Owner").wait_for()
    assert draft.locator("button").count() == 0
    assert run_status(rig, thread) == "approved"
    shot(page, "03-approved-by-owner")

    page.click("[data-testid=hood-toggle]")
    page.locator("[data-testid=hood] li", has_text="chat.update").first.wait_for()
    shot(page, "10-under-the-hood")


def test_an_outsiders_click_is_refused_and_only_they_see_why(page: Any, rig: Rig) -> None:
    thread = run_lane(page, "Where is my parcel? (outsider test)")

    act_as(page, "outsider")
    draft_in(thread).locator(f"button[data-action-id={ids.APPROVE}]").click()

    refusal = thread.locator(".msg.ephemeral", has_text="You can't approve this draft")
    refusal.wait_for()
    assert "only the owners or reviewers" in refusal.inner_text()
    shot(page, "04-outsider-refused")
    assert run_status(rig, thread) == "drafted"

    act_as(page, "owner")
    assert thread.locator(".msg.ephemeral", has_text="You can't approve this draft").count() == 0
    assert draft_in(thread).locator(f"button[data-action-id={ids.APPROVE}]").is_visible()


def test_an_edit_in_the_modal_approves_the_edited_text(page: Any, rig: Rig) -> None:
    thread = run_lane(page, "My invoice shows two charges (edit test)")

    act_as(page, "reviewer")
    draft_in(thread).locator(f"button[data-action-id={ids.EDIT}]").click()
    modal = page.locator("[data-testid=modal]")
    modal.wait_for()
    box = modal.locator(f"[data-block-id={ids.EDIT_PART_BLOCK}0] textarea")
    assert "offline sample model" in box.input_value()
    shot(page, "05-edit-modal")

    edited = "Thanks for telling us. We are checking both charges and will write back today."
    box.fill(edited)
    modal.locator("[data-testid=modal-submit]").click()

    modal.wait_for(state="detached")
    thread.locator(".msg", has_text="Approved with edits").wait_for()
    assert edited in draft_in(thread).inner_text()
    assert run_status(rig, thread) == "edited"
    shot(page, "06-approved-with-edits")


def test_a_rejection_needs_a_reason_and_records_it(page: Any, rig: Rig) -> None:
    thread = run_lane(page, "Please cancel my subscription (reject test)")

    act_as(page, "owner")
    draft_in(thread).locator(f"button[data-action-id={ids.REJECT}]").click()
    modal = page.locator("[data-testid=modal]")
    modal.wait_for()
    modal.locator("[data-testid=modal-submit]").click()
    required = modal.locator(f"[data-block-id={ids.REJECT_REASON_BLOCK}] .error")
    required.wait_for()
    assert required.inner_text() == "Please complete this required field."

    modal.locator(f"[data-block-id={ids.REJECT_REASON_BLOCK}] select").select_option("wrong tone")
    modal.locator(f"[data-block-id={ids.REJECT_NOTE_BLOCK}] textarea").fill("Too stiff for this customer.")
    shot(page, "07-reject-modal")
    modal.locator("[data-testid=modal-submit]").click()

    modal.wait_for(state="detached")
    status = thread.locator(".msg", has_text="Rejected by @Olivia Owner")
    status.wait_for()
    assert "wrong tone — Too stiff for this customer." in status.inner_text()
    shot(page, "08-rejected-with-reason")
    ts = draft_in(thread).get_attribute("data-ts")
    message = rig.ws.message("C0LANES", ts)
    assert message is not None
    run = rig.run_of(message)
    assert run.status == "rejected" and run.final_decision is not None
    assert (run.final_decision.actor, run.final_decision.reason) == (OWNER, "wrong tone")


def test_the_weekly_digest_opens_with_its_chart(page: Any, rig: Rig) -> None:
    run_lane(page, "Digest fodder (digest test)")

    page.click("[data-testid=open-digest]")

    page.locator("[data-testid=messages] .bk-header", has_text="Weekly AI lanes digest").wait_for()
    chart = page.locator("[data-testid=thread] .file-image img")
    chart.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=thread] .file-image img')]"
        ".some((img) => img.complete && img.naturalWidth > 0)"
    )
    assert page.locator("[data-testid=channel-C0DIGEST].active").count() == 1
    shot(page, "09-weekly-digest")


def test_the_persona_switcher_shows_who_may_do_what(page: Any, rig: Rig) -> None:
    options = page.locator("[data-testid=acting-user] option").all_inner_texts()

    assert any(o.startswith("Olivia Owner — owner of /support") for o in options)
    assert any(o.startswith("Ravi Reviewer — reviewer of /support") for o in options)
    assert any("Dana Dev — reviewer of /code" in o for o in options)
    page.select_option("[data-testid=acting-user]", REVIEWER)
    page.locator("[data-testid=persona-reviewer].active").wait_for()
    assert page.locator("[data-testid=mode-badge]").inner_text() == "Offline sample model"
    page.select_option("[data-testid=acting-user]", OUTSIDER)
    page.locator("[data-testid=persona-outsider].active").wait_for()
    assert page.locator("[data-testid=persona-reviewer].active").count() == 0
