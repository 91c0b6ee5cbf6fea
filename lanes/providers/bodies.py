"""The 2xx bodies the adapters accept, as pydantic models: the edge where a provider's JSON is
checked before anything reads it.

The SDKs build their response objects without validation, so a body of the wrong shape (no
``choices``, ``content: null`` where a list belongs, a token count that is a string) used to
surface as an ``AttributeError`` or ``TypeError`` deep inside an adapter. These models hold only
the fields lanebot reads, strictly typed, and ignore everything else, so a provider adding fields
never breaks us while one sending the wrong types is a ``malformed_response`` that names the
field. Fields the OpenAI-compatible servers (vLLM, Ollama, llama.cpp) are known to omit are
optional.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lanes.providers._http import malformed

_Tokens = int


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


# --- OpenAI Chat Completions ----------------------------------------------------------------------
class ChatMessage(_Body):
    content: str | None = None
    refusal: str | None = None


class ChatChoice(_Body):
    message: ChatMessage
    finish_reason: str | None = None


class ChatUsage(_Body):
    prompt_tokens: _Tokens | None = Field(default=None, ge=0)
    completion_tokens: _Tokens | None = Field(default=None, ge=0)


class ChatCompletionBody(_Body):
    id: str | None = None
    model: str | None = None
    choices: list[ChatChoice]
    usage: ChatUsage | None = None


# --- Anthropic Messages ---------------------------------------------------------------------------
class ContentBlock(_Body):
    """A text block has ``text``; other block types (thinking, tool use) are skipped."""

    type: str
    text: Any = None


class StopDetails(_Body):
    category: str | None = None
    explanation: str | None = None


class MessageUsage(_Body):
    input_tokens: _Tokens = Field(ge=0)
    output_tokens: _Tokens = Field(ge=0)
    cache_creation_input_tokens: _Tokens | None = Field(default=None, ge=0)
    cache_read_input_tokens: _Tokens | None = Field(default=None, ge=0)


class MessageBody(_Body):
    id: str | None = None
    type: Literal["message"] = "message"
    model: str | None = None
    content: list[ContentBlock]
    stop_reason: str | None = None
    stop_details: StopDetails | None = None
    usage: MessageUsage | None = None

    def text(self) -> str | None:
        """The text blocks joined, or ``None`` if a text block's ``text`` is not a string."""
        texts = [block.text for block in self.content if block.type == "text"]
        return "".join(texts) if all(isinstance(text, str) for text in texts) else None


Model = TypeVar("Model", bound=_Body)


def parse_body(model: type[Model], data: object, label: str) -> Model:
    """``data`` as ``model``, or ``malformed`` naming the first field that is wrong (never its
    value: a body may echo the prompt)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        raise malformed(label, f"JSON of the wrong shape ({where}: {first['msg'].lower()})") from None
