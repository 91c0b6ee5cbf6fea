"""The playground in a real browser at the sizes people use, and the defects a first hour found (issue 12).

Every lane's draft and the weekly digest are opened at 1280×800 and 1024×768 and saved to
``test-artifacts/playground/`` (as ``tests/test_playground_browser.py`` does) so a person can look;
what "fits" means is asserted on the page's boxes, not on pixels: nothing scrolls sideways, the
top bar's controls do not overlap, the panes stay inside the window, no text is cut off. Each
other test is one defect, driven as a person would, with the Slack payload checked where the page
alone cannot tell (what the bot posted, what the audit recorded).

Same skip rule as the other browser tests: skipped without chromium unless ``LANEBOT_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.playground import Playground
from bot.slack import ids
from tests import test_playground_browser as base
from tests.fakes import ModelServer, Ok
from tests.test_playground import ASKER, LANES, OWNER, REPO, REVIEWER, Rig
from tests.test_playground_browser import TIMEOUT_MS, act_as, draft_in, run_lane, shot

pytestmark = pytest.mark.browser
browser, rig, page = base.browser, base.rig, base.page  # the same fixtures (one chromium for this module)

VIEWPORTS = ((1280, 800), (1024, 768))
LEGAL = "U0LEGAL"
DRAFTS = {
    "support": "/support Customer says they were charged twice for the March invoice",
    "contract": (
        "/contract This Agreement between Acme Inc. and Beta LLC renews automatically on 1 March 2027. "
        "Invoices are payable net 30. Either party may terminate with 60 days written notice."
    ),
    "code": "/code Add a retry with backoff to the HTTP client in payments/client.py",
}

LAYOUT_PROBLEMS = Path(__file__).with_name("layout_problems.js").read_text()


@pytest.fixture(params=VIEWPORTS, ids=[f"{w}x{h}" for w, h in VIEWPORTS])
def sized(request: pytest.FixtureRequest, browser: Any, rig: Rig) -> Iterator[Any]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(f"{rig.pg.url}?as={ASKER}")
    opened.locator("[data-testid=persona-requester].active").wait_for()
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def size_of(page: Any) -> str:
    viewport = page.viewport_size
    return f"{viewport['width']}x{viewport['height']}"


def send(page: Any, text: str, channel: str | None = None) -> None:
    if channel:
        page.click(f"[data-testid=channel-{channel}]")
        page.locator(f"[data-testid=channel-{channel}].active").wait_for()
    composer = page.locator("[data-testid=composer]")
    composer.fill(text)
    composer.press("Enter")


def lane_draft(page: Any, command: str) -> Any:
    """Run a lane from the composer and return the thread pane once its draft and buttons are there."""
    send(page, command)
    thread = page.locator("[data-testid=thread]")
    thread.locator(f"button[data-action-id={ids.APPROVE}]").wait_for()
    return thread


def scroll_to(locator: Any, tries: int = 5) -> None:
    """Scroll ``locator`` into view. The page redraws the thread whenever the bot posts or updates a
    message in it, and an element replaced while Playwright waits for it to be stable is "not
    attached" (seen once in a full run): the locator finds the new one on the next try."""
    for attempt in range(tries):
        try:
            locator.scroll_into_view_if_needed()
            return
        except Exception as exc:  # playwright's Error; the module is imported only when a browser runs
            if "not attached" not in str(exc) or attempt == tries - 1:
                raise


def assert_fits(page: Any) -> None:
    problems = page.evaluate(LAYOUT_PROBLEMS)
    assert not problems, problems


def draft_message(rig: Rig, thread: Any) -> Any:
    ts = draft_in(thread).get_attribute("data-ts")
    message = rig.ws.message(LANES, ts)
    assert message is not None
    return message


def reviewers_text(message: Any) -> str:
    block = next(b for b in message.blocks if b.get("block_id") == ids.DRAFT_REVIEWERS_BLOCK)
    return str(block["text"]["text"])


# --- each lane's draft and the digest, at the sizes people use ----------------------------------------


@pytest.mark.parametrize("lane", list(DRAFTS))
def test_each_lanes_draft_fits_the_window(sized: Any, lane: str) -> None:
    thread = lane_draft(sized, DRAFTS[lane])
    approve = draft_in(thread).locator(f"button[data-action-id={ids.APPROVE}]")
    scroll_to(approve)
    assert approve.is_visible()
    assert_fits(sized)
    shot(sized, f"{lane}-draft-{size_of(sized)}")


def test_the_digest_fits_and_its_route_tables_come_as_a_file(sized: Any, rig: Rig) -> None:
    lane_draft(sized, "/support I want a refund now or I will call my lawyer")

    sized.click("[data-testid=open-digest]")

    header = sized.locator("[data-testid=messages] .bk-header", has_text="Weekly AI lanes digest").last
    header.wait_for()
    thread = sized.locator("[data-testid=thread]")
    thread.locator(".file-image img").wait_for()
    sized.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=thread] .file-image img')]"
        ".some((img) => img.complete && img.naturalWidth > 0)"
    )
    tables = thread.locator("[data-testid=file-link]", has_text="Route tables")
    tables.wait_for()
    digest = sized.locator(
        "[data-testid=messages] .msg", has=sized.locator(".bk-header", has_text="Weekly AI lanes digest")
    ).last
    text = digest.inner_text()
    assert "Full route tables" in text and "$/appr." not in text
    assert digest.locator("pre.code").count() == 0
    assert_fits(sized)
    shot(sized, f"digest-{size_of(sized)}")
    sized.click("[data-testid=hood-toggle]")  # "Under the hood" too: it must not push the page wider
    sized.locator("[data-testid=hood] li").first.wait_for()
    assert_fits(sized)
    sized.click("[data-testid=hood-toggle]")
    # The full table is one click away, as UTF-8 text with every column.
    body = sized.request.get(rig.pg.url.rstrip("/") + str(tables.get_attribute("href")))
    assert body.ok and "charset=utf-8" in body.headers["content-type"]
    assert "$/appr." in body.text() and "Δ week" in body.text()


def test_a_digest_escalation_names_the_rule_that_escalated(page: Any, rig: Rig) -> None:
    run_lane(page, "I want a refund now (digest reason test)")

    page.click("[data-testid=open-digest]")

    header = page.locator("[data-testid=messages] .bk-header", has_text="Weekly AI lanes digest").last
    header.wait_for()
    digests = page.locator(
        "[data-testid=messages] .msg", has=page.locator(".bk-header", has_text="Weekly AI lanes digest")
    )
    text = digests.last.inner_text()
    assert "escalation" in text and "refund" in text
    assert "unspecified" not in text


# --- the ack, /lanebot audit, a channel without the bot ---------------------------------------------


def test_the_ack_stays_above_the_root_message_it_announced(page: Any, rig: Rig) -> None:
    thread = run_lane(page, "Where is my order? (ack order test)")

    root_ts = thread.locator(".msg").first.get_attribute("data-ts")
    rows = page.locator("[data-testid=messages] .msg").all()
    shown = [(row.get_attribute("data-kind"), row.get_attribute("data-ts"), row.inner_text()) for row in rows]
    acks = [i for i, (kind, _, text) in enumerate(shown) if kind == "ephemeral" and "Working on your" in text]
    root = next(i for i, (_, ts, _) in enumerate(shown) if ts == root_ts)
    assert acks and acks[-1] == root - 1, shown[-4:]


def test_lanebot_audit_replaces_searching_with_its_results(page: Any, rig: Rig) -> None:
    run_lane(page, "Something for the audit (audit test)")
    act_as(page, "owner")

    send(page, "/lanebot audit lane:support")

    messages = page.locator("[data-testid=messages]")
    messages.locator(".msg.ephemeral", has_text="newest first").first.wait_for()
    assert messages.locator(".msg.ephemeral", has_text="Searching the audit trail").count() == 0
    mine = [e for e in rig.ws.ephemerals(user=OWNER) if "Searching" in e.text]
    assert mine == [], "the ack was followed by the results instead of replaced by them"


def test_where_the_bot_is_not_a_member_the_ack_promises_no_draft(page: Any, rig: Rig) -> None:
    send(page, "/support Hello from random (not a member)", channel="C0RANDOM")

    messages = page.locator("[data-testid=messages]")
    messages.locator(".msg.ephemeral", has_text="/invite").wait_for()
    assert messages.locator(".msg.ephemeral", has_text="draft will appear").count() == 0
    texts = [e.text for e in rig.ws.ephemerals(user=ASKER, channel="C0RANDOM")]
    assert len(texts) == 1 and "/invite @lanebot" in texts[0] and "Working on" not in texts[0]


# --- modals and decisions ---------------------------------------------------------------------------


def test_a_modal_left_open_does_not_come_back_after_a_reload(page: Any, rig: Rig) -> None:
    thread = run_lane(page, "Reload with the modal open (reload test)")
    act_as(page, "reviewer")
    draft_in(thread).locator(f"button[data-action-id={ids.EDIT}]").click()
    page.locator("[data-testid=modal]").wait_for()

    page.goto(f"{rig.pg.url}?as={REVIEWER}")
    page.locator("[data-testid=persona-reviewer].active").wait_for()
    page.wait_for_function("() => Number(document.body.dataset.version || -1) >= 0")

    assert page.locator("[data-testid=modal]").count() == 0
    assert rig.ws.views.open_views(REVIEWER) == []
    # And Edit works again from the thread, with visible feedback.
    page.locator(".thread-link").last.click()
    thread = page.locator("[data-testid=thread]")
    draft_in(thread).locator(f"button[data-action-id={ids.EDIT}]").click()
    modal = page.locator("[data-testid=modal]")
    modal.locator(f"[data-block-id={ids.EDIT_PART_BLOCK}0] textarea").fill("Edited after a reload.")
    modal.locator("[data-testid=modal-submit]").click()
    modal.wait_for(state="detached")
    thread.locator(".msg", has_text="Approved with edits").wait_for()


def test_an_owner_who_may_not_edit_their_own_request_is_refused_before_the_modal(
    page: Any,
    rig: Rig,
) -> None:
    act_as(page, "owner")
    thread = run_lane(page, "My own request (self edit test)")
    calls = len(rig.ws.calls("views.open"))

    draft_in(thread).locator(f"button[data-action-id={ids.EDIT}]").click()

    thread.locator(".msg.ephemeral", has_text="You can't edit this draft").wait_for()
    assert page.locator("[data-testid=modal]").count() == 0
    assert len(rig.ws.calls("views.open")) == calls, "a modal was opened before the refusal"


def test_one_of_two_no_longer_lists_the_approver_as_pending(page: Any, rig: Rig) -> None:
    thread = lane_draft(page, DRAFTS["contract"] + " (one of two test)")
    page.select_option("[data-testid=acting-user]", LEGAL)

    draft_in(thread).locator(f"button[data-action-id={ids.APPROVE}]").click()

    thread.locator(".msg", has_text="1 of 2").wait_for()
    line = draft_in(thread).locator(f"[data-block-id={ids.DRAFT_REVIEWERS_BLOCK}]").inner_text()
    assert "Lena Legal" not in line and "Carl Counsel" in line
    assert f"<@{LEGAL}>" not in reviewers_text(draft_message(rig, thread))


def test_code_under_two_person_review_names_the_sensitive_pattern(page: Any, rig: Rig) -> None:
    thread = lane_draft(page, "/code Fix the password reset flow (sensitive test)")

    line = draft_in(thread).locator(f"[data-block-id={ids.DRAFT_REVIEWERS_BLOCK}]").inner_text()

    assert "two different approvers needed" in line and "sensitive pattern" in line and "password" in line
    assert "password" in reviewers_text(draft_message(rig, thread))


# --- a long draft: the decision's feedback is brought into view --------------------------------------

LONG_DRAFT = "\n".join(f"Line {n:02d} of a long reply that fills the thread pane." for n in range(1, 21))


@pytest.fixture(scope="module")
def long_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with ModelServer() as models:
        models.always("gpt-5-mini", Ok(LONG_DRAFT))
        database = f"sqlite:///{tmp_path_factory.mktemp('long')}/audit.db"
        config = str(REPO / "lanes.toml")
        with Playground(database=database, config_file=config, env=models.env()) as playground:
            yield Rig(playground)


def test_approve_feedback_on_a_long_draft_is_scrolled_into_view(browser: Any, long_rig: Rig) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        opened = context.new_page()
        opened.goto(f"{long_rig.pg.url}?as={ASKER}")
        opened.locator("[data-testid=persona-requester].active").wait_for()
        thread = lane_draft(opened, "/support Please explain everything about my invoice (long test)")
        draft = draft_in(thread)
        assert "Line 20" in draft.inner_text()
        act_as(opened, "owner")
        draft.locator(f"button[data-action-id={ids.APPROVE}]").click()

        status = thread.locator(".msg", has_text="Approved by").last
        status.wait_for()
        opened.wait_for_function(
            "() => { const box = document.querySelector('#thread-messages').getBoundingClientRect();"
            " const el = [...document.querySelectorAll('#thread-messages .msg')]"
            ".find((m) => m.innerText.includes('Approved by'));"
            " if (!el) return false; const r = el.getBoundingClientRect();"
            " return r.top >= box.top - 1 && r.top < box.bottom; }"
        )
        shot(opened, "approved-long-draft-1024x768")
    finally:
        context.close()
