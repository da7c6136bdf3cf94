"""Short answers to the sheet's conceptual questions, each backed by a number of this run.

The prose is fixed; every number in it is a fact another part computed (the
gradients of expression A, the bound of the sigmoid chain, the test accuracy...)
and is inserted here, never typed in. A fact whose part failed leaves its
sentence out instead of stating something the run did not show.

>>> facts = {"1.3-chain": {"max": 0.25, "max_exact": "1/4", "depth": 5, "example_bound":
...          0.0009765625, "example_dy_dx": 0.0006, "example_factors": [0.2, 0.1]}}
>>> answer = answer_max_derivative(Facts(facts))
>>> "1/4" in answer and "0.000976562" in answer
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chainrule.report.budget import Budget
from chainrule.report.document import Answer, Block, Paragraph
from chainrule.report.parts import Part, PartContext, PartOutput
from chainrule.show.notation import latex_name, latex_number, percent, short

MODULES = ("chainrule.report.answers",)
"""The code of the answers (and all it imports, see :func:`.cache.source_digest`)."""


class Facts:
    """The facts of the parts an answer reads, looked up by part-id prefix."""

    def __init__(self, facts: Mapping[str, Mapping[str, Any]]) -> None:
        self.facts = facts

    def get(self, prefix: str, *keys: str) -> Any:
        """The value at ``keys`` in the first part whose id starts with ``prefix``, or None."""
        for part, found in self.facts.items():
            if part.startswith(prefix):
                value: Any = found
                for key in keys:
                    if not isinstance(value, Mapping) or key not in value:
                        return None
                    value = value[key]
                return value
        return None


def _sentences(*pieces: str | None) -> str:
    """The pieces that could be written (None: a fact was missing), as one paragraph."""
    return " ".join(piece for piece in pieces if piece)


def _when(condition: bool, text: Callable[[], str]) -> str | None:
    return text() if condition else None


def basics_intro() -> list[Block]:
    """Section 1.1 needs no intro beyond its answers."""
    return [Paragraph("Each answer points to the part of this report that shows it in numbers.")]


def answer_deep(f: Facts) -> str:
    """1.1 (i)."""
    best_layers, best_params = f.get("1.4-best", "layers"), f.get("1.4-best", "parameters")
    base_layers = f.get("1.4-baseline", "layers")
    depth = f.get("1.3-deepnet", "depth")
    return _sentences(
        "Deep learning is machine learning with neural networks that learn their own "
        "features from raw data: many layers of simple differentiable functions are composed, "
        "and all their parameters are fitted together by gradient descent on a loss, with "
        "gradients from backpropagation.",
        "A network is deep when it has several hidden layers between input and output, so "
        "that each layer builds on the features the one before it computed (edges, then "
        "strokes, then digits).",
        _when(best_layers is not None and best_params is not None, lambda: (
            f"The best model of section 1.4 has {best_layers} layers with weights and "
            f"{best_params:,} parameters, learned from pixels alone."
        )),
        _when(base_layers is not None, lambda: (
            f"The baseline of 1.4 has {base_layers} such layers, so {base_layers - 1} hidden "
            "layer(s): a shallow network, which is enough for MNIST."
        )),
        _when(depth is not None, lambda: (
            f"Section 1.3 trains networks {depth} layers deep, where depth brings the "
            "vanishing-gradient problem."
        )),
    )


def answer_backprop(f: Facts) -> str:
    """1.1 (ii)."""
    label, gradients = f.get("1.2-A", "label"), f.get("1.2-A", "gradients")
    output = f.get("1.2-A", "output")
    if gradients is None:  # user expressions: quote the first one
        first = next((v for k, v in f.facts.items() if k.startswith("1.2-") and
                      "gradients" in v), None)
        if first is not None:
            label, gradients, output = first["label"], first["gradients"], first["output"]
    listed = ", ".join(
        f"$\\partial {latex_name(output)}/\\partial {latex_name(name)} = {latex_number(value)}$"
        for name, value in (gradients or {}).items()
    )
    return _sentences(
        "Backpropagation computes the gradient of a network's output (in training, the loss) "
        "with respect to every parameter and every intermediate value. A forward pass stores "
        "each node's value; the backward pass then walks the computational graph from the "
        "output to the inputs, applying the chain rule at each node: a node's gradient is the "
        "sum, over the nodes that use it, of their gradient times the local derivative. Every "
        "gradient is computed once and reused, so all derivatives together cost about as much "
        "as one more forward pass.",
        _when(gradients is not None, lambda: (
            f"For expression {label} of section 1.2, one backward pass gave all "
            f"{len(gradients)} gradients at once: {listed}; the verification table checks "
            "them against sympy's closed form and finite differences."
        )),
    )


def answer_activation(f: Facts) -> str:
    """1.1 (iii)."""
    accuracy = f.get("1.4-baseline", "test_accuracy")
    layers = f.get("1.4-baseline", "layers")
    activations = f.get("1.4-baseline", "activations")
    sigma_max = f.get("1.3-chain", "max_exact")
    return _sentences(
        "Without an activation function a network is a composition of affine maps, which is "
        "again one affine map: $W_2(W_1 x + b_1) + b_2 = (W_2 W_1) x + (W_2 b_1 + b_2)$. Depth "
        "would add nothing, and the network could only draw linear boundaries between classes. "
        "A nonlinearity between the layers (ReLU, sigmoid, tanh) lets the composition represent "
        "non-linear functions; with enough hidden units, any continuous function on a bounded "
        "set (the universal approximation theorem).",
        _when(None not in (accuracy, layers) and bool(activations), lambda: (
            f"The baseline of 1.4 puts {' and '.join(activations)} between its {layers} "
            "linear layers and reaches "
            f"{percent(accuracy)} test accuracy."
        )),
        _when(sigma_max is not None, lambda: (
            "The choice matters for training too: backpropagation multiplies by the "
            f"activation's derivative, at most ${sigma_max}$ for the sigmoid (section 1.3)."
        )),
    )


def answer_supervised(f: Facts) -> str:
    """1.1 (iv)."""
    shape = f.get("1.4-baseline", "train_shape")
    val = f.get("1.4-baseline", "val_size")
    accuracy = f.get("1.4-best", "test_accuracy")
    return _sentences(
        "Supervised learning fits a model to examples with known answers, pairs $(x, y)$: the "
        "loss compares the model's prediction with the label $y$ (classification, regression). "
        "Unsupervised learning has inputs $x$ only and finds structure in them: clusters "
        "(k-means), directions of variance (PCA), densities, or compressed representations "
        "(autoencoders), judged without labels.",
        _when(shape is not None and val is not None, lambda: (
            f"Section 1.4 is supervised: each of the {shape[0]:,} training images comes with "
            f"its digit ({shape[0] - val:,} to train on, {val:,} for validation), and "
            "cross-entropy compares the predicted class probabilities with it."
        )),
        _when(accuracy is not None, lambda: (
            f"The test accuracy, {percent(accuracy)}, is measured against labels too."
        )),
    )


def answer_tensor(f: Facts) -> str:
    """1.1 (v)."""
    shape, dtype = f.get("1.4-baseline", "train_shape"), f.get("1.4-baseline", "train_dtype")
    torch_checked = f.get("1.2-A", "torch_agree")
    return _sentences(
        "A tensor in PyTorch is an n-dimensional array of numbers of one data type on one "
        "device: a scalar has 0 dimensions, a vector 1, a matrix 2, and a tensor any number. "
        "It differs from a matrix in three ways: it is not limited to two dimensions, it can "
        "live on a GPU, and it can record the operations applied to it (`requires_grad`) so "
        "that `backward()` computes gradients through them by backpropagation (autograd). "
        "Mathematically a matrix is a linear map; a PyTorch tensor is a data structure.",
        _when(shape is not None and dtype is not None, lambda: (
            f"The MNIST training images of 1.4 are one {dtype} tensor of shape "
            f"({', '.join(str(s) for s in shape)}): {len(shape)} dimensions, not a matrix."
        )),
        _when(torch_checked is not None, lambda: (
            "In 1.2, torch autograd on float64 tensors reproduced chainrule's gradients of "
            f"expression A ({'all agree' if torch_checked else 'with differences'})."
        )),
    )


def answer_vanishing(f: Facts) -> str:
    """1.3 (i)."""
    vanishing = f.get("1.3-chain", "vanishing")
    ratio = f.get("1.3-deepnet", "sigmoid_ratio")
    accuracies = f.get("1.3-deepnet", "accuracies") or {}
    return _sentences(
        "By the chain rule, the gradient that reaches an early layer is a product with one "
        "factor per later layer. When those factors are smaller than 1 in magnitude the "
        "product shrinks exponentially with depth: the early layers receive almost no gradient "
        "and barely change while the last layers learn, so training is slow or stalls.",
        _when(vanishing is not None, lambda: (
            "In the sigmoid chain with all weights 1, "
            + ", ".join(f"$\\partial y/\\partial x = {latex_number(v)}$ at depth {d}"
                        for d, v in vanishing.items())
            + " (the table of the chain below)."
        )),
        _when(ratio is not None, lambda: (
            f"In the deep sigmoid network, the first layer's gradient is {short(ratio, 3)} times "
            "smaller than the last hidden layer's at initialisation (see *A real deep network*)."
        )),
        _when({"sigmoid default", "relu kaiming"} <= set(accuracies), lambda: (
            f"It learns little: {percent(accuracies['sigmoid default'])} test accuracy, "
            f"against {percent(accuracies['relu kaiming'])} for the same network with ReLU "
            "and He initialisation."
        )),
    )


def answer_max_derivative(f: Facts) -> str:
    """1.3 (iv)."""
    exact, depth = f.get("1.3-chain", "max_exact"), f.get("1.3-chain", "depth")
    bound, actual = f.get("1.3-chain", "example_bound"), f.get("1.3-chain", "example_dy_dx")
    factors = f.get("1.3-chain", "example_factors")
    return _sentences(
        _when(exact is not None, lambda: (
            f"Yes. Since $\\sigma'(x) \\leq {exact}$, each layer multiplies the gradient by "
            f"$|w_i \\sigma'(w_i a_{{i-1}})| \\leq |w_i| \\cdot {exact}$: unless the weights are "
            "large, every factor is below 1 and the gradient decays at least geometrically "
            "with depth. The maximum is reached only at pre-activation 0; anywhere else the "
            "factor is smaller still."
        )),
        _when(None not in (bound, actual, depth, factors), lambda: (
            f"For the sheet's chain with unit weights the bound is $({exact})^{{{depth}}} = "
            f"{latex_number(bound)}$, and the actual gradient is ${latex_number(actual)}$, "
            "lower because "
            f"the layers' factors range from {short(min(factors), 3)} to "
            f"{short(max(factors), 3)}, all below {exact}."
        )),
    )


def answer_exploding(f: Facts) -> str:
    """1.3 (v)."""
    threshold, weight = f.get("1.3-chain", "threshold"), f.get("1.3-chain", "exploding_weight")
    factor, exploding = f.get("1.3-chain", "exploding_factor"), f.get("1.3-chain", "exploding")
    window = f.get("1.3-chain", "window")
    exact = f.get("1.3-chain", "max_exact")
    net = f.get("1.3-deepnet", "exploding")
    return _sentences(
        "Exploding gradients are the opposite problem: factors larger than 1 in magnitude make "
        "the gradient grow exponentially with depth. Updates then overshoot, the loss jumps or "
        "diverges, and numbers overflow to inf or NaN, so we do not want them.",
        _when(None not in (threshold, weight, factor, exploding, window, exact), lambda: (
            f"With sigmoid activations a factor $|w \\sigma'(w a)| \\leq {exact} \\cdot |w|$ "
            "can exceed 1 "
            f"only if $|w| > {short(threshold)}$, and then only while $w a$ stays near 0: for "
            f"$w = {short(weight)}$, only for ${short(window[0], 3)} < a < {short(window[1], 3)}$. "
            f"The constructed chain with $w_i = {short(weight)}$ at a fixed point multiplies by "
            f"{short(factor, 4)} per layer: "
            + ", ".join(f"${latex_number(v)}$ at depth {d}" for d, v in exploding.items())
            + ". Large weights usually push the sigmoid into saturation instead, which is why "
            "vanishing is the common case for sigmoid networks."
        )),
        _when(net is not None, lambda: _clipping(net)),
    )


def _clipping(net: Mapping[str, Any]) -> str:
    """The deep network whose gradients explode, without and with clipping."""
    wild = (
        f"diverges at step {net['diverged_at']}" if net["diverged_at"] is not None
        else f"reaches a gradient norm of {short(net['max_norm'], 3)}"
    )
    return (
        f"In the deep-network experiment, the {net['label']} network {wild} and ends at "
        f"{percent(net['accuracy'])} test accuracy; clipping the gradient norm "
        f"({net['clipped_label']}, {net['clipped_steps']} of {net['steps']} steps clipped) "
        f"gives {percent(net['clipped_accuracy'])}."
    )


BASICS = (
    ("1.1 (i)", "What is deep learning? What makes a neural network deep?", answer_deep),
    ("1.1 (ii)", "What do you understand by the term backpropagation?", answer_backprop),
    ("1.1 (iii)", "Why do we use activation functions in neural networks?", answer_activation),
    ("1.1 (iv)", "What is the difference between supervised and unsupervised learning?",
     answer_supervised),
    ("1.1 (v)", "What is a Tensor in PyTorch and how is it different from a matrix?",
     answer_tensor),
)
VANISHING_FIRST = (("1.3 (i)", "What is the vanishing gradients problem?", answer_vanishing),)
VANISHING = (
    ("1.3 (iv)", "Does the maximum value of the derivative of sigmoid contribute to the "
     "vanishing gradients problem? If so, how?", answer_max_derivative),
    ("1.3 (v)", "What is meant by exploding gradients? Why do we not want the gradients to "
     "explode? When can sigmoid activations have an exploding gradient?", answer_exploding),
)


def _answers(questions: tuple[tuple[str, str, Callable[[Facts], str]], ...]) -> Any:
    def run(ctx: PartContext) -> PartOutput:
        facts = Facts(ctx.facts)
        return PartOutput([Answer(label, question, write(facts))
                           for label, question, write in questions])

    return run


def basics_part(budget: Budget, *used: list[str]) -> Part:
    """The answers of section 1.1, reading the facts of ``used`` parts."""
    uses = tuple(part for group in used for part in group)
    return Part("1.1-answers", "1.1 answers to the basic questions", _answers(BASICS), {},
                MODULES, budget.estimates["answers"], uses)


def vanishing_parts(budget: Budget, used: list[str]) -> list[Part]:
    """The answer to 1.3 (i), shown first, and those to (iv) and (v), after the chain."""
    return [
        Part("1.3-answer-i", "1.3 answer to (i)", _answers(VANISHING_FIRST), {}, MODULES,
             budget.estimates["answers"], tuple(used)),
        Part("1.3-answers-iv-v", "1.3 answers to (iv) and (v)", _answers(VANISHING), {},
             MODULES, budget.estimates["answers"], tuple(used)),
    ]
