"""User scorer functions for the `module:function` scorer tests."""

from __future__ import annotations


def startswith_target(output: str, target: str) -> bool:
    return output.strip().lower().startswith(target.lower())


def partial_with_input(output: str, target: str, input: str) -> tuple[float, str]:
    words = output.split()
    return (0.5 if target in words and "half" in input else 1.0 if target in words else 0.0), words[
        -1
    ]


def out_of_range(output: str, target: str) -> float:
    return 2.0


not_callable = 3
