"""Every prompt the `pgtd` generator sends (one place, versioned).

PG-TD decodes token by token from an exact token prefix, so its "prompt" is a chat rendered to
text with the model's template and then tokenized, ending inside the assistant turn right after
an opening Markdown fence (and, by default, the function's signature and docstring): the model
continues the code and closes the fence, which ends the program.

Example:
    >>> msgs = chat_messages('def inc(x):\\n    return x + 1\\n')
    >>> [m["role"] for m in msgs], assistant_prefix("def f():\\n", prefill_signature=False)
    (['system', 'user'], '```python\\n')
"""

from __future__ import annotations

__all__ = [
    "CHATML_TEMPLATE",
    "FENCE_CLOSE",
    "FENCE_OPEN",
    "PROMPT_VERSION",
    "PROMPT_VERSION_CPP",
    "SYSTEM",
    "SYSTEM_CPP",
    "USER",
    "USER_CPP",
    "assistant_prefix",
    "chat_messages",
    "render_chatml",
]

PROMPT_VERSION = "pgtd-1"
"""Bump when any text below changes (it is recorded with every proposed candidate)."""
PROMPT_VERSION_CPP = "pgtd-cpp-1"
"""The version of the C++ (`mpi` kind) texts."""

FENCE_OPEN = "```python\n"
FENCE_CLOSE = "```"

SYSTEM = "You are an expert Python programmer. You write correct, simple Python 3 code."

USER = (
    "Complete the following Python function. Answer with the whole function, including the "
    "imports it needs, in one ```python code block and nothing else.\n\n"
    "```python\n{prompt}```"
)

SYSTEM_CPP = (
    "You are an expert C++ and MPI programmer. You write correct, simple C++17 code that uses "
    "MPI. MPI is already initialized: never call MPI_Init, MPI_Finalize or MPI_Abort, and do "
    "not write main()."
)

USER_CPP = (
    "Complete the following C++ function. Answer with the whole function, including the "
    "#include lines it needs, in one ```cpp code block and nothing else.\n\n"
    "```cpp\n{prompt}```"
)

_TEXTS = {"python": (SYSTEM, USER), "cpp": (SYSTEM_CPP, USER_CPP)}

CHATML_TEMPLATE = "<|im_start|>{role}\n{content}<|im_end|>\n"
"""The ChatML turn (Qwen2.5, SmolLM2): used when the server cannot apply its own template."""


def chat_messages(problem_prompt: str, language: str = "python") -> list[dict[str, str]]:
    """The system and user turns for a function to write (signature + docstring).

    Args:
        problem_prompt: the code prompt (Python signature and docstring, or the ParEval-style
            C++ prompt ending in the open signature).
        language: ``python`` or ``cpp``.
    """
    prompt = problem_prompt if problem_prompt.endswith("\n") else problem_prompt + "\n"
    system, user = _TEXTS[language]
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": user.format(prompt=prompt)},
    ]


def assistant_prefix(
    problem_prompt: str, *, prefill_signature: bool = True, language: str = "python"
) -> str:
    """The start of the assistant turn the model continues: the fence, and the signature."""
    fence = f"```{language}\n"
    if not prefill_signature:
        return fence
    prompt = problem_prompt if problem_prompt.endswith("\n") else problem_prompt + "\n"
    return fence + prompt


def render_chatml(messages: list[dict[str, str]]) -> str:
    """Messages in ChatML, ending with an open assistant turn (``add_generation_prompt``).

    >>> render_chatml([{"role": "user", "content": "hi"}])
    '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n'
    """
    turns = "".join(CHATML_TEMPLATE.format(role=m["role"], content=m["content"]) for m in messages)
    return turns + "<|im_start|>assistant\n"
