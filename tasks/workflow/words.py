"""Write `sort_words`: the words of a text sorted case-insensitively, joined by single spaces.

Judged by unit tests (test_words.py) that run in the sandbox against the current code.
"""

from workbench.trace import bundle, node


@bundle(trainable=True)
def sort_words(text):
    """Return the words of `text` sorted alphabetically ignoring case, joined by one space."""
    return text


def run():
    """One traced call on an example, so the optimizer sees the function at work."""
    return sort_words(node("banana Apple  cherry", name="example"))
