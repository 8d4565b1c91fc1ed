"""Adapters from an `LLMClient` (and the code harness) to `PGTDSearch`'s callables.

PG-TD needs what only a completion endpoint over token ids gives: the top-k next tokens at an
exact token prefix, and a greedy continuation of that prefix with the per-step alternatives
(llama-server and vLLM do; hosted chat-only endpoints do not, and `TokenModel.check` says so in
one line). The prompt is the chat rendered with the model's own template (llama-server's
``/apply-template``; ChatML otherwise) and tokenized once; the program ends at the model's
EOS / end-of-turn token or when its text closes the Markdown fence.

Example:
    >>> from workbench.llm import ScriptedLLM
    >>> model = TokenModel(ScriptedLLM(lambda r: "x"), prefill="def f():\\n", eos_ids=[0])
    >>> model.program_text("    return 1\\n```\\nmore")
    'def f():\\n    return 1\\n'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import BudgetExceeded, ConfigError, EndpointError
from workbench.llm import LLMClient, LLMRequestError, TokenLogprob
from workbench.optimizers.codegen.pgtd.assembly import raw_program
from workbench.optimizers.codegen.pgtd.prompts import FENCE_CLOSE, render_chatml
from workbench.tasks import ProvidesPublicProblem
from workbench.tasks.code import CodeProblem

__all__ = [
    "EOS_CANDIDATES",
    "TokenModel",
    "apply_chat_template",
    "find_eos_ids",
    "require_problem",
]

log = logging.getLogger(__name__)

EOS_CANDIDATES = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "<end_of_turn>")
"""End-of-turn / end-of-text spellings tried when the server does not name its EOS token."""

NO_PREFIX_HINT = (
    "pgtd needs an endpoint that continues a token-id prompt and returns top-k logprobs with "
    "token ids (the embedded llama-server, `vllm serve`, or llm.model 'vllm:<model>'); "
    "use optimizer 'sample' or 'funcoder' with chat-only endpoints"
)


def apply_chat_template(llm: LLMClient, messages: list[dict[str, str]]) -> tuple[str, str]:
    """The chat as text with the model's template, ending with an open assistant turn.

    Returns:
        ``(text, how)``: `how` is ``"server"`` (the backend's own template, e.g. llama-server's
        /apply-template) or ``"chatml"`` (the backend cannot tell).
    """
    try:
        return llm.chat_template(messages), "server"
    except (NotImplementedError, LLMRequestError) as exc:
        log.warning("pgtd: no chat template from the model (%s); rendering ChatML", exc)
    return render_chatml(messages), "chatml"


def find_eos_ids(llm: LLMClient) -> list[int]:
    """Token ids that end the model's turn: the model's EOS/EOT tokens (when the backend names
    them) and the usual end-of-turn spellings that are one token in this vocabulary."""
    names = list(EOS_CANDIDATES)
    try:
        named = llm.special_tokens()
    except LLMRequestError as exc:
        log.warning("pgtd: the model's special tokens are unknown (%s)", exc)
        named = {}
    for key in ("eot_token", "eos_token"):
        if named.get(key):
            names.insert(0, named[key])
    ids: list[int] = []
    for name in dict.fromkeys(names):
        try:
            toks = llm.tokenize(name)
        except NotImplementedError:
            return []
        if len(toks) == 1 and toks[0] not in ids:
            ids.append(toks[0])
    return ids


@dataclass
class TokenModel:
    """`topk` / `rollout` / `decode` / `is_stop` for `PGTDSearch`, over one `LLMClient`.

    Args:
        llm: the client (its budget and accounting apply to every call).
        prefill: program text already in the prompt (the signature), prepended to programs.
        eos_ids: token ids that end a program.
        logprobs: alternatives asked per generated token (>= the search width).
        horizon: max generated tokens of a program (rollouts stop there).
        prompt_len: the prompt's length in tokens (set by `TokenModel.prompt_ids`).
        assemble: generated text -> program (the optimizer's: `assembly.assemble_program`
            over the problem view, as the `sample` generator builds its programs); without it
            the program is `raw_program(prefill, generated text)`.
    """

    llm: LLMClient
    prefill: str = ""
    eos_ids: Sequence[int] = ()
    logprobs: int = 3
    horizon: int = 256
    prompt_len: int = 0
    texts: dict[int, str] = field(default_factory=dict)
    """Token id -> its text, learned from every answer (for local decoding)."""
    assemble: Callable[[str], str] | None = None

    def prompt_ids(self, text: str) -> list[int]:
        """Tokenize the rendered prompt (special tokens parsed) and remember its length."""
        try:
            ids = self.llm.tokenize(text)
        except NotImplementedError as exc:
            raise EndpointError(f"{exc}: {NO_PREFIX_HINT}") from None
        self.prompt_len = len(ids)
        return ids

    # -- the callables ----------------------------------------------------------------------
    def topk(self, prefix: Sequence[int]) -> list[tuple[int, float]]:
        """The top-k next tokens after `prefix` (one model call)."""
        result = self.llm.complete(
            list(prefix), max_tokens=1, temperature=0.0, logprobs=self.logprobs
        )
        if not result.tokens:
            if result.finish_reason in ("stop", "eos") and not result.text:
                return []  # nothing can follow: the node becomes terminal
            raise EndpointError(f"the endpoint returned no token logprobs: {NO_PREFIX_HINT}")
        return self._alternatives(result.tokens[0])

    def rollout(
        self, prefix: Sequence[int]
    ) -> tuple[list[int], str, list[list[tuple[int, float]]]]:
        """Greedy completion of `prefix` to EOS / the closing fence / the horizon.

        Returns:
            ``(prefix + generated ids, program text, per-step alternatives)``.
        """
        generated = list(prefix[self.prompt_len :])
        before = self.text_of(generated)
        room = self.horizon - len(generated)
        if room <= 0:
            return list(prefix), self.program_text(before), []
        stop = [FENCE_CLOSE]
        ticks = len(before) - len(before.rstrip("`"))
        if 0 < ticks < len(FENCE_CLOSE):  # the prefix ends inside the closing fence
            stop.append("`" * (len(FENCE_CLOSE) - ticks))
        result = self.llm.complete(
            list(prefix), max_tokens=room, temperature=0.0, logprobs=self.logprobs, stop=stop
        )
        ids = list(prefix)
        steps: list[list[tuple[int, float]]] = []
        for i, tok in enumerate(result.tokens):
            if tok.id is None:
                raise EndpointError(f"the endpoint returned tokens without ids: {NO_PREFIX_HINT}")
            ids.append(int(tok.id))
            steps.append(self._alternatives(tok))
            if tok.token and (i < len(result.tokens) - 1 or result.finish_reason != "stop"):
                self.texts.setdefault(int(tok.id), tok.token)
        if not result.tokens and result.text:
            raise EndpointError(f"the endpoint returned no token logprobs: {NO_PREFIX_HINT}")
        return ids, self.program_text(before + result.text), steps

    def text_of(self, generated: Sequence[int]) -> str:
        """The text of generated token ids, EOS ids dropped (the server's detokenizer when it
        has one: exact for multi-byte characters; else the token texts seen so far)."""
        kept = [t for t in generated if t not in self.eos_ids]
        if not kept:
            return ""
        try:
            return self.llm.detokenize(kept)
        except NotImplementedError:
            return "".join(self.texts.get(t, "") for t in kept)

    def decode(self, generated: Sequence[int]) -> str:
        """The program of a terminal prefix (generated ids after the prompt)."""
        return self.program_text(self.text_of(generated))

    def is_stop(self, prefix: Sequence[int]) -> bool:
        """Whether the generated text closes the code fence (so the program is complete)."""
        tail = prefix[self.prompt_len :]
        return FENCE_CLOSE in "".join(self.texts.get(t, "") for t in tail)

    # -- helpers ----------------------------------------------------------------------------
    def program_text(self, generated_text: str) -> str:
        """The program of a generated text: `assemble` of it, or `prefill` + the text up to
        the closing fence, ending with one newline (`raw_program`)."""
        if self.assemble is not None:
            return self.assemble(generated_text)
        return raw_program(self.prefill, generated_text)

    def _alternatives(self, tok: TokenLogprob) -> list[tuple[int, float]]:
        top = tok.top or [(tok.token, tok.id, tok.logprob)]
        out = []
        for text, tid, lp in top:
            if tid is None:
                raise EndpointError(f"the endpoint's logprobs carry no token ids: {NO_PREFIX_HINT}")
            self.texts.setdefault(int(tid), text)
            out.append((int(tid), float(lp)))
        return out

    def check(self, prompt: Sequence[int]) -> list[tuple[int, float]]:
        """One top-k call at the prompt (its answer is returned), failing now, in one line, on
        an unsuitable endpoint.

        Raises:
            EndpointError: no token ids / logprobs, or the endpoint rejects token-id prompts.
        """
        try:
            got = self.topk(prompt)
        except (EndpointError, BudgetExceeded):
            raise
        except Exception as exc:  # e.g. a 400 for a token-id prompt
            raise EndpointError(f"{type(exc).__name__}: {exc}; {NO_PREFIX_HINT}") from None
        if not got:
            raise EndpointError(f"the endpoint offered no next token: {NO_PREFIX_HINT}")
        return got


def require_problem(task: Any) -> Any:
    """The `CodeProblem` of a `code` task as a generator may see it (no hidden tests).

    Uses the task's ``public_problem()`` when it has one, else its ``problem`` attribute.

    Raises:
        ConfigError: the task has no Python problem to write.
    """
    problem = task.public_problem() if isinstance(task, ProvidesPublicProblem) else None
    if isinstance(problem, CodeProblem):
        return problem
    raise ConfigError(
        f"optimizer 'pgtd' writes Python functions: it needs a `code` task with one problem, "
        f"got {type(task).__name__}; use kind: code"
    )
