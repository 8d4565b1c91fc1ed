"""Two agents on one workflow: `offset`'s code is rewritten, `scale` is tuned; target 10.

The output is offset(x * scale): the coder (optoprime) may change what offset adds, the tuner
(optuna) chooses scale in [0, 2]; neither reaches the target alone from the start values.
"""

from workbench.trace import bundle, node

TARGET = 10.0
x = node(3.0, name="x")  # an input, not trained
scale = node(1.0, trainable=True, name="scale", description="A factor applied to x.")


@bundle(trainable=True)
def offset(v):
    """Adds a constant to v."""
    return v + 0.0


def run():
    """The workflow."""
    return offset(x * scale)


def feedback(output: float) -> tuple[float, str]:
    """The score is the distance to the target."""
    error = abs(output - TARGET)
    if error < 1e-9:
        return 0.0, f"The output {output} equals the target. Success."
    side = "too large; make it smaller" if output > TARGET else "too small; make it larger"
    return error, f"The output {output} is {side} (the target is {TARGET})."
