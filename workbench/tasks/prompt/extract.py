"""Pure answer-extraction helpers used by the scorers.

Each function takes the model's raw output (and sometimes the task input) and returns the
answer it finds, or None. Nothing here calls a model.
"""

from __future__ import annotations

import re
import string

__all__ = [
    "extract_answer",
    "extract_choice",
    "extract_number",
    "normalize",
    "parse_options",
]

# BBH's chain-of-thought prompts end with "So the answer is X." — take the LAST one, since a
# model that reconsiders ("the answer is (A)... wait, the answer is (C)") means the last.
_ANSWER_IS = re.compile(r"answer\s+is\s*(?::|-(?=\s))?\s*", re.IGNORECASE)  # keep "is -50"
_ANSWER_LABEL = re.compile(r"(?:^|\n)\s*\**\s*(?:final\s+)?answer\s*\**\s*:\s*\**", re.IGNORECASE)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def extract_answer(output: str) -> str | None:
    """The text after the last ``answer is`` (or a last ``Answer:`` line), up to the line's end.

    When that line is empty ("The answer is:" then a line break) the next non-empty line is
    taken. Trailing full stops, surrounding quotes and markdown ``**`` are stripped.

    Example:
        >>> extract_answer("A is wrong. So the answer is (B).")
        '(B)'
        >>> extract_answer("Thinking...\\nAnswer: 12") is not None
        True
    """
    matches = list(_ANSWER_IS.finditer(output)) or list(_ANSWER_LABEL.finditer(output))
    if not matches:
        return None
    lines = [line for line in output[matches[-1].end() :].split("\n") if line.strip()]
    if not lines:
        return None
    first = output[matches[-1].end() :].split("\n", 1)[0]
    answer = (first if first.strip() else lines[0]).strip().strip("*`\"'").strip()
    while answer.endswith("."):
        answer = answer[:-1].rstrip()
    return answer.strip("*`\"' ") or None


def normalize(text: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


# --- numbers -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d])")
_WORDS = {
    w: i
    for i, w in enumerate(
        (
            *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
            *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
            *("seventeen", "eighteen", "nineteen", "twenty"),
        )
    )
}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)


def extract_number(text: str) -> float | None:
    """The last number in `text`; thousands commas, units and signs tolerated.

    Number words zero..twenty count too, when no digits appear at all.

    Example:
        >>> extract_number("That's $1,234.50 in total.")
        1234.5
        >>> extract_number("I count eight instruments")
        8.0
    """
    found = _NUMBER.findall(text)
    if found:
        return float(found[-1].replace(",", ""))
    words = _WORD_NUMBER.findall(text)
    if words:
        return float(_WORDS[words[-1].lower()])
    return None


# --- multiple choice ---------------------------------------------------------------------------

_LETTER_OPTION = re.compile(r"^\s*\(([A-Z])\)\s*(.*?)\s*$", re.MULTILINE)
_DASH_OPTION = re.compile(r"^\s*-\s+(.+?)\s*$", re.MULTILINE)


def parse_options(task_input: str) -> dict[str, str]:
    """Options listed in a task input, in order.

    ``(A) text`` lines give ``{"A": "text", ...}``; ``- text`` lines after an ``Options:`` line
    (BBH's yes/no and valid/invalid tasks) give ``{"text": "text", ...}``.

    Example:
        >>> parse_options("Q?\\nOptions:\\n(A) 12/11/1937\\n(B) 12/25/1937")
        {'A': '12/11/1937', 'B': '12/25/1937'}
    """
    lettered = {m.group(1): m.group(2) for m in _LETTER_OPTION.finditer(task_input)}
    if lettered:
        return lettered
    _, sep, tail = task_input.rpartition("Options:")
    if not sep:
        return {}
    return {m.group(1): m.group(1) for m in _DASH_OPTION.finditer(tail)}


_PAREN_LETTER = re.compile(r"\(([A-Za-z])\)")
_BARE_LETTER = re.compile(r"^\s*\(?([A-Za-z])(?:\s*[).:\]]|\s*$)")
_LEADING_LETTER = re.compile(r"\s*\**\s*(?:\(([A-Za-z])\)|([A-Z])\))")
_TRAILING_LETTER = re.compile(r"(?:^|\s)\(?([A-Z])\)?[.!]?\s*$")
# Keywords in any case, but the letter itself upper case: "answer is a good one" is not option A.
_NAMED_LETTER = re.compile(
    r"\b(?i:answer|option|choice)\s*(?i:is)?\s*[:\-]?\s*\(?([A-Z])\b(?!['’])"
)


def _letter(text: str, letters: set[str], *, last: bool) -> str | None:
    # An output that opens with an option ("(B) 12/25/1937\n\nExplanation: (A) is ...") answers
    # first and explains after: the opening letter wins over later mentions.
    lead = _LEADING_LETTER.match(text)
    if lead and (lead.group(1) or lead.group(2)).upper() in letters:
        return (lead.group(1) or lead.group(2)).upper()
    hits = [m.group(1).upper() for m in _PAREN_LETTER.finditer(text)]
    hits = [h for h in hits if h in letters]
    if hits:
        return hits[-1] if last else hits[0]
    bare = _BARE_LETTER.match(text)
    # A lone lower-case "a" is an article, not option A, unless nothing else follows.
    if (
        bare
        and bare.group(1).upper() in letters
        and (bare.group(1).isupper() or len(text.strip().rstrip(".):]")) <= 2)
    ):
        return bare.group(1).upper()
    named = [m.group(1).upper() for m in _NAMED_LETTER.finditer(text)]
    named = [h for h in named if h in letters]
    if named:
        return named[-1] if last else named[0]
    trailing = _TRAILING_LETTER.search(text)
    if trailing and trailing.group(1) in letters:
        return trailing.group(1)
    return None


def _option_text(text: str, options: dict[str, str]) -> str | None:
    """The option whose text the answer gives: equal, at the start, or the last one mentioned."""
    norm = normalize(text)
    by_norm = {normalize(v): k for k, v in options.items() if normalize(v)}
    if norm in by_norm:
        return by_norm[norm]
    # Longest option texts first, so "invalid" wins over "valid" and "12/25/1937" over "1937".
    ranked = sorted(by_norm, key=len, reverse=True)
    for opt in ranked:
        if norm.startswith(opt + " "):
            return by_norm[opt]
    last: tuple[int, str] | None = None
    for opt in ranked:
        for m in re.finditer(r"(?:^| )" + re.escape(opt) + r"(?= |$)", norm):
            if last is None or m.start() > last[0]:
                last = (m.start(), by_norm[opt])
    return last[1] if last else None


def extract_choice(
    output: str, options: dict[str, str], *, use_answer_is: bool = True
) -> str | None:
    """The option key an output picks, or None.

    Tries, in order: the segment after the last ``answer is`` (letter, then option text), then
    the whole output: an opening ``(B)``/``B)``, the last parenthesised letter, a bare leading
    letter (``B``, ``B.``), ``option B``/``answer: B``, a trailing letter (``I think B.``), then
    option text (equal, at the start, or the last one mentioned). Letters only count when they
    name one of `options`.

    Args:
        output: the model's raw output.
        options: from `parse_options` (letters or option texts as keys).
        use_answer_is: False skips the "answer is" segment and reads the whole output.

    Example:
        >>> opts = {"A": "12/11/1937", "B": "12/25/1937"}
        >>> extract_choice("Answer: B) 12/25/1937", opts), extract_choice("12/25/1937", opts)
        ('B', 'B')
    """
    letters = {k for k in options if len(k) == 1 and k.isupper()}
    segment = extract_answer(output) if use_answer_is else None
    if segment is not None:
        found = _letter(segment, letters, last=False) if letters else None
        found = found or _option_text(segment, options)
        if found:
            return found
    found = _letter(output, letters, last=True) if letters else None
    return found or _option_text(output, options)
