"""Trigger ids and modal stacks, with the rules Slack enforces on them.

A trigger id comes with an interaction (slash command, button click) and lets the app open a modal
*once*, within 3 seconds. That is the rule that bites real bots (a slow listener that opens a modal
after calling a model), so the stub enforces it against the workspace's injectable clock:
unknown → ``invalid_trigger_id``, too old → ``expired_trigger_id``, reused → ``exchanged_trigger_id``.
Each user sees one stack of at most three modals; ``views.update`` honours ``hash`` like Slack does.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING

from bot.playground.slackstub.models import JsonDict, OpenView, StubError, TriggerId
from bot.playground.slackstub.state_values import with_block_ids

if TYPE_CHECKING:
    from bot.playground.slackstub.workspace import Workspace

MAX_STACK = 3


class ViewBook:
    """The part of a workspace that tracks trigger ids and open modals."""

    def __init__(self, workspace: Workspace, *, trigger_ttl: float = 3.0) -> None:
        self._ws = workspace
        self.trigger_ttl = trigger_ttl
        self._triggers: dict[str, TriggerId] = {}
        self._views: dict[str, OpenView] = {}

    # ---- trigger ids -------------------------------------------------------------------------------

    def issue_trigger_id(self, user: str) -> str:
        """A fresh trigger id for an interaction by ``user``, valid for ``trigger_ttl`` seconds."""
        with self._ws.lock:
            trigger = TriggerId(self._ws.token_for("trigger"), user, self._ws.clock())
            self._triggers[trigger.id] = trigger
            return trigger.id

    def trigger(self, trigger_id: str) -> TriggerId | None:
        with self._ws.lock:
            return self._triggers.get(trigger_id)

    def exchange_trigger_id(self, trigger_id: str) -> TriggerId:
        """Use a trigger id up, or raise the error Slack would return for it."""
        with self._ws.lock:
            trigger = self._triggers.get(trigger_id)
            if trigger is None:
                raise StubError("invalid_trigger_id")
            if trigger.used:
                raise StubError("exchanged_trigger_id")
            if self._ws.clock() - trigger.issued_at > self.trigger_ttl:
                raise StubError("expired_trigger_id")
            self._triggers[trigger_id] = dataclasses.replace(trigger, used=True)
            return trigger

    # ---- modals ------------------------------------------------------------------------------------

    def open(self, trigger_id: str, view: JsonDict) -> OpenView:
        """views.open: a new stack for the trigger's user (any stack they had is closed)."""
        with self._ws.transaction() as emit:
            trigger = self.exchange_trigger_id(trigger_id)
            for old in self.stack(trigger.user):
                del self._views[old.id]
            opened = self._new_view(trigger.user, view, previous=None)
            emit("view_opened", ref=opened.id, extra={"user": trigger.user})
        return opened

    def push(self, trigger_id: str, view: JsonDict) -> OpenView:
        """views.push: onto the top of the trigger user's stack (at most three deep)."""
        with self._ws.transaction():
            trigger = self.exchange_trigger_id(trigger_id)
            return self.push_for(trigger.user, view)

    def push_for(self, user: str, view: JsonDict) -> OpenView:
        """Push without a trigger id: what Slack does for a ``response_action: push`` ack."""
        with self._ws.transaction() as emit:
            stack = self.stack(user)
            if not stack:
                raise StubError("not_found", "views.push needs an open modal; open one with views.open")
            if len(stack) >= MAX_STACK:
                raise StubError("push_limit_reached")
            pushed = self._new_view(user, view, previous=stack[-1])
            emit("view_pushed", ref=pushed.id, extra={"user": user})
        return pushed

    def update(
        self,
        view: JsonDict,
        *,
        view_id: str | None = None,
        external_id: str | None = None,
        hash: str | None = None,
    ) -> OpenView:
        """views.update by id or external_id; a stale ``hash`` is a ``hash_conflict``, as in Slack."""
        with self._ws.transaction() as emit:
            current = self._find(view_id, external_id)
            if hash and hash != current.hash:
                raise StubError("hash_conflict")
            updated = dataclasses.replace(
                current,
                view=_with_block_ids(view),
                hash=self._ws.token_for("hash"),
                external_id=str(view.get("external_id") or current.external_id),
            )
            self._views[updated.id] = updated
            emit("view_updated", ref=updated.id, extra={"user": updated.user})
        return updated

    def close(self, view_id: str, *, clear: bool = False) -> list[OpenView]:
        """Close one modal (and those pushed on it), or the user's whole stack with ``clear``."""
        with self._ws.transaction() as emit:
            target = self.get(view_id)
            stack = self.stack(target.user)
            start = 0 if clear else next(i for i, v in enumerate(stack) if v.id == view_id)
            closed = stack[start:]
            for view in closed:
                del self._views[view.id]
                emit("view_closed", ref=view.id, extra={"user": view.user})
        return closed

    def get(self, view_id: str) -> OpenView:
        with self._ws.lock:
            if view_id not in self._views:
                raise StubError("not_found")
            return self._views[view_id]

    def open_views(self, user: str | None = None) -> list[OpenView]:
        with self._ws.lock:
            return [v for v in self._views.values() if user is None or v.user == user]

    def stack(self, user: str) -> list[OpenView]:
        """The user's modals from the root to the one on top."""
        with self._ws.lock:
            views = self.open_views(user)
            by_previous = {v.previous_view_id: v for v in views}
            ordered: list[OpenView] = []
            current = by_previous.get(None)
            while current is not None:
                ordered.append(current)
                current = by_previous.get(current.id)
            return ordered

    def to_api(self, view: OpenView) -> JsonDict:
        ws = self._ws
        return view.to_api(team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id)

    def _new_view(self, user: str, view: JsonDict, *, previous: OpenView | None) -> OpenView:
        external_id = str(view.get("external_id") or "")
        if external_id and any(v.external_id == external_id for v in self._views.values()):
            raise StubError("duplicate_external_id")
        view_id = self._ws.new_id("V")
        opened = OpenView(
            id=view_id,
            user=user,
            view=_with_block_ids(view),
            hash=self._ws.token_for("hash"),
            root_view_id=previous.root_view_id if previous else view_id,
            previous_view_id=previous.id if previous else None,
            external_id=external_id,
        )
        self._views[view_id] = opened
        return opened

    def _find(self, view_id: str | None, external_id: str | None) -> OpenView:
        if view_id:
            return self.get(view_id)
        for view in self._views.values():
            if external_id and view.external_id == external_id:
                return view
        raise StubError("not_found")


def _with_block_ids(view: JsonDict) -> JsonDict:
    copied = copy.deepcopy(view)
    copied["blocks"] = list(with_block_ids(copied.get("blocks") or []))
    return copied
