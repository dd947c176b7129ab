"""The assistant: one GGUF model (tone) plus retrieval over the company's documents (facts).

A ``ChatEngine`` loads its model once (on first use, so opening a page costs nothing) and
answers one request at a time: a llama.cpp context holds one KV cache and is not re-entrant,
so a lock makes concurrent callers (the server's threads, the GUI) take turns.

The system prompt (with the company's policies, ~1,000 tokens for the sample company) is the
same for every request, so its KV cache is kept and only the rest (passages, conversation) is
read per request: about 3x faster to the first token of a retrieved answer (sample company,
2 busy cores: 4.7 s -> 1.5 s; benchmarks/chat_latency.py).
llama-cpp-python's own prefix reuse would split a prompt wherever the previous request
happened to differ, and a different split can change a logit slightly (a reused single token
takes another kernel path: up to 0.86 apart, see core/teachers/embedded.py), so an answer
would depend on the request before it. Here the split is always at the system prompt's end,
and the prefix is always evaluated on its own: an answer depends only on the request and its
seed, and matched llama-cpp-python's plain full-prompt answer on every prompt we compared.

Every answer goes through ``build_prompt`` (core/chat/prompt.py). With retrieval on, the
latest customer turn is searched first; when nothing relevant comes back the assistant does
not guess: it gives the polite escalation answer and says so (``escalated``). Hidden
analysis/intent text is removed from what the customer sees, also while streaming, and kept
for the operator view.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, NamedTuple

from core.chat.hidden import HiddenFilter
from core.chat.prompt import build_prompt, last_question
from core.errors import ModelError, TalkSmallError, ValidationError

DEFAULT_N_CTX = 4096  # system prompt + two passages + a conversation, with room to answer
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.2
MIN_ANSWER_TOKENS = 32
MIN_PREFIX_TOKENS = 16  # shorter system prompts are cheaper to re-read than to manage
# llama-cpp-python's create_chat_completion defaults, kept so our answers match a plain call.
_SAMPLING = {"top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0}

Retriever = Callable[[Any, str, int], list[Any]]  # (project, query, k) -> relevant hits
Formatter = Callable[[list[Any]], str]  # hits -> the numbered passages block


class Hidden(NamedTuple):
    analysis: str | None
    intent: str | None


@dataclass
class Answer:
    """One reply. ``text`` is what the customer sees; the rest is for the operator."""

    text: str
    hidden: Hidden = field(default_factory=lambda: Hidden(None, None))
    passages: list[Any] = field(default_factory=list)
    escalated: bool = False
    tokens: int = 0  # generated tokens (0 for an escalation answer)
    seconds: float = 0.0
    first_token_s: float | None = None
    role: str = "user"
    raw: str = ""  # the model's output with hidden tags, for the operator view
    prompt_tokens: int = 0
    finish_reason: str = "stop"  # "length" when max_tokens cut the answer short

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "hidden": self.hidden._asdict(),
                "passages": [passage_dict(p) for p in self.passages],
                "escalated": self.escalated, "tokens": self.tokens,
                "seconds": round(self.seconds, 4),
                "first_token_s": None if self.first_token_s is None
                else round(self.first_token_s, 4), "role": self.role}


def passage_dict(hit: Any) -> dict[str, Any]:
    """A retrieved passage as plain JSON-able data."""
    if is_dataclass(hit) and not isinstance(hit, type):
        return asdict(hit)
    return dict(hit) if isinstance(hit, dict) else {"text": str(hit)}


@dataclass
class Turn:
    """A prepared request: the prompt, or the escalation answer that replaces generating."""

    messages: list[dict[str, str]]
    passages: list[Any]
    role: str
    escalation: str | None
    system: str = ""  # the system prompt alone: the prefix whose KV cache is kept


class ChatStream(Iterator[str]):
    """The visible text deltas of one answer; ``passages`` are known before the first delta.

    ``answer`` is set once the stream is exhausted. ``close()`` (or leaving a ``with`` block)
    stops generating early and frees the model for the next request.
    """

    def __init__(self, turn: Turn, deltas: Iterator[str]) -> None:
        self.passages = turn.passages
        self.role = turn.role
        self.escalated = turn.escalation is not None
        self.answer: Answer | None = None
        self._deltas = deltas

    def __next__(self) -> str:
        return next(self._deltas)

    def close(self) -> None:
        close = getattr(self._deltas, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChatEngine:
    """Answers customer conversations with one GGUF, optionally grounded in a project."""

    def __init__(self, model_path: str | Path, *, project: Any = None, name: str | None = None,
                 n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None, seed: int = 0,
                 k: int = 2, retriever: Retriever | None = None,
                 formatter: Formatter | None = None) -> None:
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise ModelError(f"The model file {self.model_path} does not exist.",
                             "Give the path of a .gguf file, or export a trained run first.")
        self.project = project
        self.name = name or self.model_path.stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.seed = seed
        self.k = k
        self._retriever = retriever
        self._formatter = formatter
        self._llm: Any = None
        self._template: Any = None
        self._prefix_len = 0  # tokens of the system prompt evaluated on their own, in the cache
        self._system_cache: tuple[str | None, list[int]] = (None, [])
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ChatEngine(model={str(self.model_path)!r}, name={self.name!r})"

    # --- public -----------------------------------------------------------------
    def answer(self, messages: Sequence[dict[str, Any]], *, role: str | None = None,
               retrieval: bool | None = None, project: Any = None,
               max_tokens: int = DEFAULT_MAX_TOKENS, temperature: float = DEFAULT_TEMPERATURE,
               seed: int | None = None, show_hidden: bool = False) -> Answer:
        """The whole answer at once (generated as a stream, so first_token_s is measured)."""
        stream = self.stream(messages, role=role, retrieval=retrieval, project=project,
                             max_tokens=max_tokens, temperature=temperature, seed=seed,
                             show_hidden=show_hidden)
        for _ in stream:
            pass
        assert stream.answer is not None
        return stream.answer

    def stream(self, messages: Sequence[dict[str, Any]], *, role: str | None = None,
               retrieval: bool | None = None, project: Any = None,
               max_tokens: int = DEFAULT_MAX_TOKENS, temperature: float = DEFAULT_TEMPERATURE,
               seed: int | None = None, show_hidden: bool = False) -> ChatStream:
        """Text deltas as the model writes them; the customer view unless ``show_hidden``.

        ``retrieval``: None means on when there is a project (the call's or the engine's).
        ``role``: the customer role for ``user`` turns; default the project's first role.
        Retrieval and prompt errors are raised here, before the first delta.
        """
        if max_tokens < 1:
            raise ValidationError("max_tokens", f"max_tokens must be at least 1, not "
                                  f"{max_tokens}.", "Ask for 1 or more tokens.")
        turn = self.prepare(messages, role=role, retrieval=retrieval, project=project,
                            seed=seed)
        holder: list[ChatStream] = []
        deltas = self._run(turn, holder, max_tokens=max_tokens, temperature=temperature,
                           seed=self.seed if seed is None else seed, show_hidden=show_hidden)
        holder.append(ChatStream(turn, deltas))
        return holder[0]

    def prepare(self, messages: Sequence[dict[str, Any]], *, role: str | None = None,
                retrieval: bool | None = None, project: Any = None,
                seed: int | None = None) -> Turn:
        """Retrieve and build the prompt (or decide to escalate), without generating."""
        project = project if project is not None else self.project
        use_retrieval = project is not None if retrieval is None else retrieval
        profile = project.profile() if project is not None else None
        default_role = "user"
        if profile is not None and profile.customer_roles:
            default_role = profile.customer_roles[0]
        system_prompt = profile.system_prompt() if profile is not None else None
        # Validate the conversation first: a malformed request is refused before searching.
        prompt = build_prompt(messages, system_prompt=system_prompt, role=role,
                              default_role=default_role)
        customer_role = role or default_role
        system = prompt[0]["content"] if prompt[0]["role"] == "system" else ""
        if not use_retrieval:
            return Turn(prompt, [], customer_role, None, system)
        if project is None:
            raise ValidationError("retrieval", "Retrieval needs a project: the company's "
                                  "documents are searched for every answer.",
                                  "Chat with a project folder, or turn retrieval off.")
        hits = list(self._retrieve(project, last_question(messages)))
        if not hits:
            from core.conversations.escalation import escalation_answer

            company = (profile.company_name.strip() if profile else "") or project.name
            text, _ = escalation_answer("off_topic", company,
                                        self.seed if seed is None else seed)
            return Turn(prompt, [], customer_role, text, system)
        block = self._format(hits)
        prompt = build_prompt(messages, system_prompt=system_prompt, passages=block,
                              role=role, default_role=default_role)
        return Turn(prompt, hits, customer_role, None, system)

    def prompt_text(self, messages: Sequence[dict[str, Any]], **options: Any) -> str:
        """The prompt exactly as the model reads it (operator view, tests); no generation."""
        turn = self.prepare(messages, **options)
        with self._lock:
            self._load()
            return str(self._template(messages=turn.messages).prompt)

    def load(self) -> None:
        """Load the model now (e.g. before a server reports that it is ready)."""
        with self._lock:
            self._load()

    def close(self) -> None:
        """Free the model; a later request loads it again."""
        with self._lock:
            llm, self._llm = self._llm, None
            self._prefix_len = 0
        if llm is not None:
            llm.close()

    # --- generation ---------------------------------------------------------------
    def _run(self, turn: Turn, holder: list[ChatStream], *, max_tokens: int,
             temperature: float, seed: int, show_hidden: bool) -> Iterator[str]:
        started = time.perf_counter()
        if turn.escalation is not None:
            elapsed = time.perf_counter() - started
            holder[0].answer = Answer(text=turn.escalation, escalated=True, role=turn.role,
                                      raw=turn.escalation, seconds=elapsed,
                                      first_token_s=elapsed)
            yield turn.escalation
            return
        hidden = HiddenFilter()
        first: float | None = None
        tokens = 0
        finish = "stop"
        with self._lock:
            llm = self._load()
            started = time.perf_counter()  # loading once is not part of an answer's latency
            prompt_tokens, stop, criteria, budget = self._tokens(llm, turn.messages, max_tokens)
            self._keep_prefix(llm, prompt_tokens, turn.system)
            chunks = llm.create_completion(
                prompt=prompt_tokens, max_tokens=budget, temperature=temperature, seed=seed,
                stop=stop, stopping_criteria=criteria, stream=True, **_SAMPLING)
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    finish = choice.get("finish_reason") or finish
                    delta = choice.get("text") or ""
                    if not delta:
                        continue
                    tokens += 1
                    if first is None:
                        first = time.perf_counter() - started
                    if show_hidden:
                        hidden.raw += delta
                        out = delta
                    else:
                        out = hidden.feed(delta)
                    if out:
                        yield out
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        rest = "" if show_hidden else hidden.finish()
        if rest:
            yield rest
        from core.conversations.intents import split_hidden  # not at import: a heavy package

        analysis, intent, visible = split_hidden(hidden.raw)
        holder[0].answer = Answer(
            text=hidden.raw.strip() if show_hidden else visible, hidden=Hidden(analysis, intent),
            passages=turn.passages, tokens=tokens, seconds=time.perf_counter() - started,
            first_token_s=first, role=turn.role, raw=hidden.raw,
            prompt_tokens=len(prompt_tokens), finish_reason=finish)

    def _tokens(self, llm: Any, messages: list[dict[str, str]],
                max_tokens: int) -> tuple[list[int], list[str], Any, int]:
        """Prompt tokens that fit the window, dropping the oldest turns when they do not."""
        kept = list(messages)
        while True:
            rendered = self._template(messages=kept)
            tokens = llm.tokenize(rendered.prompt.encode("utf-8"),
                                  add_bos=not rendered.added_special, special=True)
            room = self.n_ctx - len(tokens)
            if room >= min(max_tokens, MIN_ANSWER_TOKENS):
                stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop]
                return tokens, [s for s in stop if s], rendered.stopping_criteria, min(
                    max_tokens, room)
            first_turn = 1 if kept and kept[0]["role"] == "system" else 0
            if len(kept) - first_turn <= 1:
                raise ValidationError(
                    "messages", f"The question is too long for the model ({len(tokens)} tokens "
                    f"with the instructions and passages; its window holds {self.n_ctx}).",
                    "Ask a shorter question.")
            del kept[first_turn]  # the oldest turn of the conversation goes first

    def _keep_prefix(self, llm: Any, tokens: list[int], system: str) -> None:
        """Leave exactly the system prompt's tokens in the KV cache (see the module docstring).

        llama-cpp-python's ``generate`` then evaluates only the tokens after them.
        """
        prefix = 0
        if system:
            alone_tokens = self._system_tokens(llm, system)
            for ours, theirs in zip(alone_tokens, tokens[:-1], strict=False):
                if ours != theirs:
                    break
                prefix += 1
        if prefix < MIN_PREFIX_TOKENS:
            llm.reset()
            self._prefix_len = 0
            return
        if self._prefix_len == prefix and llm.n_tokens >= prefix \
                and llm.input_ids[:prefix].tolist() == tokens[:prefix]:
            llm.n_tokens = prefix
            return
        llm.reset()
        llm.eval(tokens[:prefix])
        self._prefix_len = prefix

    def _system_tokens(self, llm: Any, system: str) -> list[int]:
        """The system prompt alone, tokenized once per prompt text (~1,000 tokens to render
        and tokenize again on every request otherwise)."""
        if self._system_cache[0] != system:
            alone = self._template(messages=[{"role": "system", "content": system}])
            self._system_cache = (system, llm.tokenize(alone.prompt.encode("utf-8"),
                                                       add_bos=not alone.added_special,
                                                       special=True))
        return self._system_cache[1]

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            llm = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx,
                        n_threads=self.n_threads, seed=self.seed, verbose=False)
        except (ImportError, ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Cannot load the model {self.model_path.name}: "
                             f"{type(exc).__name__}: {exc}.",
                             "Check that it is a complete GGUF file (export it again), and "
                             "that llama-cpp-python is installed (./run.sh sets it up).") from exc
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            llm.close()
            raise ModelError(f"{self.model_path.name} has no chat template.",
                             "Export the model with TalkSmall Studio, which writes one.")
        eos, bos = llm.token_eos(), llm.token_bos()
        self._template = Jinja2ChatFormatter(
            template=template, eos_token=_token_text(llm, eos), bos_token=_token_text(llm, bos),
            stop_token_ids=[eos] if eos != -1 else None)
        self._llm = llm
        return llm

    # --- retrieval ----------------------------------------------------------------
    def _retrieve(self, project: Any, query: str) -> list[Any]:
        if self._retriever is not None:
            return self._retriever(project, query, self.k)
        try:
            from core.retrieval import retrieve
        except ImportError as exc:
            raise TalkSmallError("Retrieval is not available in this version.",
                                 "Turn retrieval off (--no-retrieval) to chat without the "
                                 "company's documents.") from exc
        return retrieve(project, query, k=self.k)

    def _format(self, hits: list[Any]) -> str:
        if self._formatter is not None:
            return self._formatter(hits)
        from core.retrieval import format_passages

        return format_passages(hits)


def _token_text(llm: Any, token: int) -> str:
    if token == -1:
        return ""
    return llm.detokenize([token], special=True).decode("utf-8", errors="ignore")
