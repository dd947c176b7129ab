"""The OpenAI-compatible HTTP API over a ``ChatEngine``: ``/v1/models``, ``/v1/chat/completions``.

Existing clients (the ``openai`` package, curl, tools that speak the OpenAI protocol) work
unchanged: the same paths, bodies, streaming chunks (server-sent events ending in
``data: [DONE]``) and error bodies. What ours adds: every answer is retrieved and grounded
when a project is served, hidden analysis/intent text never leaves the server, an API
``user`` turn becomes the project's customer role, and every request needs the API key.
Two optional request fields go beyond OpenAI's (pass them with the client's ``extra_body``):
``customer_role`` (e.g. "owner") and ``retrieval`` (false to answer without the documents).
Each response carries ``talksmall``: the passages used (document, section, score) and
whether the assistant escalated instead of answering.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from core.chat.engine import Answer, ChatEngine, ChatStream
from core.errors import TalkSmallError, ValidationError

_DEFAULT_MAX_TOKENS = 256
_END = object()


def build_app(engine: ChatEngine, api_key: str) -> Any:
    """The Starlette application; every route checks ``api_key`` (Bearer)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    created = int(time.time())

    def refused(request: Request) -> Response | None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(),
                                                                 api_key.encode()):
            return None
        message = ("Incorrect API key provided." if given else
                   "No API key provided: send the header 'Authorization: Bearer YOUR_KEY'.")
        return _error(JSONResponse, 401, message, "authentication_error", "invalid_api_key")

    async def models(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        return JSONResponse({"object": "list", "data": [
            {"id": engine.name, "object": "model", "created": created,
             "owned_by": "talksmall"}]})

    async def chat_completions(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        if (denied := refused(request)) is not None:
            return denied
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return _error(JSONResponse, 400, "The request body is not valid JSON.",
                          "invalid_request_error", "invalid_json")
        try:
            options = _options(body)
            # Retrieval and prompt checks run here, so a bad request is a 400, not a broken
            # stream.
            stream = await run_in_threadpool(lambda: engine.stream(**options))
        except ValidationError as exc:
            return _error(JSONResponse, 400, str(exc), "invalid_request_error", exc.field)
        except TalkSmallError as exc:
            return _error(JSONResponse, 500, str(exc), "server_error", exc.code)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if body.get("stream"):
            return StreamingResponse(_sse(stream, engine.name, completion_id),
                                     media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        try:
            await run_in_threadpool(lambda: [None for _ in stream])
        except TalkSmallError as exc:
            return _error(JSONResponse, 500, str(exc), "server_error", exc.code)
        assert stream.answer is not None
        return JSONResponse(_completion(stream.answer, engine.name, completion_id))

    return Starlette(routes=[
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    ])


def _options(body: Any) -> dict[str, Any]:
    """The engine's keyword arguments from an OpenAI request body (validated)."""
    if not isinstance(body, dict):
        raise ValidationError("body", "The request body must be a JSON object.",
                              "Send {\"messages\": [...]}.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValidationError("messages", "'messages' must be a non-empty list.",
                              "Send at least one {\"role\": \"user\", \"content\": ...}.")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    temperature = body.get("temperature")
    seed = body.get("seed")
    retrieval = body.get("retrieval")
    role = body.get("customer_role")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise ValidationError("max_tokens", "'max_tokens' must be a whole number above 0.",
                              "For example 256.")
    if temperature is not None and (not isinstance(temperature, int | float)
                                    or not 0 <= temperature <= 2):
        raise ValidationError("temperature", "'temperature' must be between 0 and 2.",
                              "Use 0 for the most consistent answers.")
    if seed is not None and not isinstance(seed, int):
        raise ValidationError("seed", "'seed' must be a whole number.", "For example 42.")
    if retrieval is not None and not isinstance(retrieval, bool):
        raise ValidationError("retrieval", "'retrieval' must be true or false.", "")
    options: dict[str, Any] = {"messages": messages, "role": role, "retrieval": retrieval,
                               "max_tokens": max_tokens or _DEFAULT_MAX_TOKENS, "seed": seed}
    if temperature is not None:
        options["temperature"] = float(temperature)
    return options


def _completion(answer: Answer, model: str, completion_id: str) -> dict[str, Any]:
    return {
        "id": completion_id, "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                     "logprobs": None, "finish_reason": answer.finish_reason}],
        "usage": {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.tokens,
                  "total_tokens": answer.prompt_tokens + answer.tokens},
        "talksmall": _extras(answer.passages, answer.escalated),
    }


async def _sse(stream: ChatStream, model: str, completion_id: str) -> AsyncIterator[str]:
    """OpenAI's streaming chunks. The stream is closed whatever happens (client gone too)."""
    import anyio

    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                             "finish_reason": finish}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        while True:
            # Not cancellable mid-token: the thread finishes its token before close() runs.
            text = await anyio.to_thread.run_sync(next, stream, _END)
            if text is _END:
                break
            yield chunk({"content": text})
        answer = stream.answer
        finish = answer.finish_reason if answer is not None else "stop"
        yield chunk({}, finish, talksmall=_extras(stream.passages, stream.escalated))
    except TalkSmallError as exc:
        error = {"message": str(exc), "type": "server_error", "code": exc.code}
        yield f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
    finally:
        stream.close()
    yield "data: [DONE]\n\n"


def _extras(passages: list[Any], escalated: bool) -> dict[str, Any]:
    from core.chat.engine import passage_dict

    keep = ("chunk_id", "document_id", "document", "section", "score")
    return {"escalated": escalated,
            "passages": [{k: v for k, v in passage_dict(p).items() if k in keep}
                         for p in passages]}


def _error(response: Any, status: int, message: str, kind: str, code: str | None) -> Any:
    return response({"error": {"message": message, "type": kind, "param": None, "code": code}},
                    status_code=status)
