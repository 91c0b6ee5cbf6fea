"""Files from the upload v2 flow, which has three steps and therefore three ways to go wrong.

``files_upload_v2`` reserves a file id and upload URL (files.getUploadURLExternal), POSTs the bytes
to that URL, then shares the file (files.completeUploadExternal) into a channel or thread. A file
whose bytes never arrived cannot be completed, and a file shared into a thread becomes a message
in that thread, just as the digest's chart will appear to managers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.playground.slackstub.models import StubError, UploadedFile

if TYPE_CHECKING:
    from bot.playground.slackstub.workspace import Workspace


class FileBook:
    """The part of a workspace that holds uploaded files."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._files: dict[str, UploadedFile] = {}

    def reserve(self, filename: str, length: int, *, user: str, alt_txt: str | None = None) -> UploadedFile:
        with self._ws.lock:
            reserved = UploadedFile(self._ws.new_id("F"), filename, length, user, alt_txt=alt_txt)
            self._files[reserved.id] = reserved
            return reserved

    def receive(self, file_id: str, content: bytes) -> UploadedFile:
        """The bytes POSTed to the upload URL; Slack checks them against the announced length."""
        with self._ws.transaction() as emit:
            current = self.get(file_id)
            if len(content) != current.length:
                raise StubError(
                    "invalid_file_length",
                    f"announced {current.length} bytes, received {len(content)}",
                    status=400,
                )
            received = dataclasses.replace(current, content=content)
            self._files[file_id] = received
            emit("file_uploaded", ref=file_id)
        return received

    def complete(
        self,
        entries: Sequence[Mapping[str, Any]],
        *,
        channel: str | None = None,
        thread_ts: str | None = None,
        initial_comment: str | None = None,
    ) -> list[UploadedFile]:
        """Finish uploads; with a channel, share them there as one message (in the thread, if given)."""
        with self._ws.transaction() as emit:
            done = [self._finish(entry) for entry in entries]
            if channel:
                channel_id = self._ws.channel(channel).id
                self._ws.post_message(
                    channel_id,
                    text=initial_comment or "",
                    thread_ts=thread_ts,
                    files=[f.id for f in done],
                )
                done = [self._share(f, channel_id, thread_ts, initial_comment) for f in done]
            for shared in done:
                emit("file_shared", channel=channel, ref=shared.id, extra={"thread_ts": thread_ts})
        return done

    def _finish(self, entry: Mapping[str, Any]) -> UploadedFile:
        current = self.get(str(entry.get("id") or ""))
        if current.content is None:
            raise StubError("file_not_found", f"{current.id}: its bytes were never POSTed to the upload_url")
        title = str(entry.get("title") or current.filename)
        updated = dataclasses.replace(current, title=title)
        self._files[current.id] = updated
        return updated

    def _share(
        self, file: UploadedFile, channel_id: str, thread_ts: str | None, comment: str | None
    ) -> UploadedFile:
        shared = dataclasses.replace(
            file, channels=(*file.channels, channel_id), thread_ts=thread_ts, initial_comment=comment
        )
        self._files[file.id] = shared
        return shared

    def get(self, file_id: str) -> UploadedFile:
        with self._ws.lock:
            if file_id not in self._files:
                raise StubError("file_not_found")
            return self._files[file_id]

    def all(self) -> list[UploadedFile]:
        with self._ws.lock:
            return list(self._files.values())
