"""Choose x so that the output of the computation equals the target 20."""

from workbench.trace import node

TARGET = 20.0

x = node(-5.0, trainable=True, name="x", description="The number to choose.")


def run():
    """The workflow: a small traced computation of x."""
    return x * 3.0 + 2.0


def feedback(output: float) -> tuple[float, str]:
    """Textual feedback in the style of Trace's numeric benchmark; the score is the error."""
    error = abs(output - TARGET)
    if error < 1e-9:
        return 0.0, f"The output {output} equals the target. Success."
    side = "too large; make it smaller" if output > TARGET else "too small; make it larger"
    return error, f"The output {output} is {side} (the target is {TARGET})."
