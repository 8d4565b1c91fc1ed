"""A prompt as the parameter: the instruction a small model follows to label movie reviews.

The workflow asks the model (the task's `workflow.llm`) to label each labelled review; the
feedback lists the mistakes and the score is the accuracy.
"""

from workbench.trace import bundle, node

EXAMPLES = [
    ("I loved this movie, the acting was wonderful.", "positive"),
    ("A boring, predictable plot. I fell asleep.", "negative"),
    ("Not bad at all, I would happily watch it again.", "positive"),
    ("The worst film I have seen this year.", "negative"),
    ("I expected to hate it, but it won me over.", "positive"),
    ("Great cast, shame about the dreadful script.", "negative"),
]

prompt = node(
    "Read the text.",
    trainable=True,
    name="prompt",
    description="The system prompt the classifier model receives before each review.",
)

_CLIENT: list = []  # the model, set by run(); a plain value, not part of the graph


def label_of(answer: str) -> str:
    """'positive' or 'negative' when the answer says exactly one of them, else the answer."""
    text = answer.strip().lower()
    pos, neg = "positive" in text, "negative" in text
    if pos != neg:
        return "positive" if pos else "negative"
    return answer.strip()[:60]


@bundle()
def classify(prompt, review):
    """Ask the model to follow `prompt` on `review`; returns its label (or its raw answer)."""
    messages = [{"role": "system", "content": prompt}, {"role": "user", "content": review}]
    return label_of(_CLIENT[0].chat(messages, max_tokens=12).texts[0])


@bundle()
def collect(*labels):
    """The list of the labels, in the order of the reviews."""
    return list(labels)


def run(llm):
    """Label every example review with the current prompt."""
    _CLIENT[:] = [llm]
    labels = [classify(prompt, node(text, name="review")) for text, _ in EXAMPLES]
    return collect(*labels)


def feedback(output: list) -> tuple[float, str]:
    """Accuracy, and the reviews that were labelled wrongly."""
    wrong = [
        f"- {text!r}: expected {gold}, got {got!r}"
        for (text, gold), got in zip(EXAMPLES, output, strict=True)
        if got != gold
    ]
    accuracy = 1 - len(wrong) / len(EXAMPLES)
    if not wrong:
        return accuracy, "Every review was labelled correctly."
    head = f"{len(wrong)} of {len(EXAMPLES)} reviews were labelled wrongly "
    head += "(the answer must be the word positive or negative):\n"
    return accuracy, head + "\n".join(wrong)
