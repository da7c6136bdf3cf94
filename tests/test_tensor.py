"""chainrule.tensor against PyTorch autograd and central differences (float64)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule.core.ops import OPS
from chainrule.errors import ChainruleError
from chainrule.tensor import Tensor, elementwise, nn, no_grad, optim
from chainrule.tensor import functional as F
from chainrule.tensor.graph import draw, explain, trace

# PyTorch's own function for each registry operation (independent of the registry's maths).
TORCH_OPS: dict[str, Callable[..., torch.Tensor]] = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
    "neg": torch.neg, "sqrt": torch.sqrt, "exp": torch.exp, "log": torch.log, "abs": torch.abs,
    "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "sin": torch.sin,
    "cos": torch.cos, "max": torch.maximum, "min": torch.minimum,
    "softplus": torch.nn.functional.softplus,
}  # fmt: skip

SETTINGS = settings(max_examples=15, deadline=None)


def values(draw: Any, shape: tuple[int, ...], positive: bool) -> np.ndarray:
    """Arguments away from kinks (0) and inside every domain when ``positive``."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    magnitude = np.asarray(rng.uniform(0.2, 2.0, shape))
    return magnitude if positive else np.asarray(magnitude * rng.choice([-1.0, 1.0], shape))


def central_differences(
    f: Callable[[list[np.ndarray]], float], arrays: list[np.ndarray], h: float = 1e-6
) -> list[np.ndarray]:
    """∂f/∂ each element of each array, (f(x + h) − f(x − h)) / 2h."""
    grads = []
    for array in arrays:
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h
            up = f(arrays)
            array[index] = saved - h
            down = f(arrays)
            array[index] = saved
            grad[index] = (up - down) / (2 * h)
        grads.append(grad)
    return grads


def ours(fn: Callable[..., Tensor], arrays: Sequence[np.ndarray], weights: np.ndarray) -> Any:
    """Value and gradients of sum(fn(*args) * weights) with chainrule tensors."""
    tensors = [Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    (out * Tensor(weights, dtype=np.float64)).sum().backward()
    return out.data, [t.grad for t in tensors]


def theirs(
    fn: Callable[..., torch.Tensor], arrays: Sequence[np.ndarray], weights: np.ndarray
) -> Any:
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    (out * torch.from_numpy(weights)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def assert_same(a: Any, b: Any) -> None:
    value_a, grads_a = a
    value_b, grads_b = b
    np.testing.assert_allclose(value_a, value_b, rtol=1e-10, atol=1e-12)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        assert ga.shape == gb.shape
        np.testing.assert_allclose(ga, gb, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- registry operations


@st.composite
def registry_case(draw: Any, name: str) -> tuple[list[np.ndarray], np.ndarray]:
    op = OPS[name]
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=op.arity, max_dims=3, max_side=3))
    positive = op.domain is not None
    arrays = [values(draw, shape, positive) for shape in shapes.input_shapes]
    if op.kink is not None and op.arity == 2:  # max/min: no ties within the stencil
        assume(bool((np.abs(np.subtract(*arrays)) > 1e-3).all()))
    weights = values(draw, shapes.result_shape, positive=False)
    return arrays, weights


@pytest.mark.parametrize("name", sorted(OPS))
@SETTINGS
@given(data=st.data())
def test_every_registry_op_matches_torch_autograd_with_broadcasting(name: str, data: Any) -> None:
    if name not in TORCH_OPS:  # a new op is still checked by central differences below
        pytest.skip(f"no PyTorch twin listed for {name}")
    arrays, weights = data.draw(registry_case(name))
    assert_same(
        ours(lambda *t: elementwise(name, *t), arrays, weights),
        theirs(TORCH_OPS[name], arrays, weights),
    )


@pytest.mark.parametrize("name", sorted(OPS))
@SETTINGS
@given(data=st.data())
def test_every_registry_op_matches_central_differences(name: str, data: Any) -> None:
    """Every op of the registry (also ones added later, without a torch twin) works on tensors."""
    arrays, weights = data.draw(registry_case(name))
    _, grads = ours(lambda *t: elementwise(name, *t), arrays, weights)

    def f(xs: list[np.ndarray]) -> float:
        with no_grad():
            out = elementwise(name, *[Tensor(x, dtype=np.float64) for x in xs])
        return float((out.data * weights).sum())

    for ours_grad, numeric in zip(grads, central_differences(f, arrays), strict=True):
        np.testing.assert_allclose(ours_grad, numeric, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- tensor operations


@SETTINGS
@given(data=st.data())
def test_matmul_with_batch_broadcasting(data: Any) -> None:
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    left = values(data.draw, (*batch.input_shapes[0], m, k), positive=False)
    right = values(data.draw, (*batch.input_shapes[1], k, n), positive=False)
    weights = values(data.draw, (*batch.result_shape, m, n), positive=False)
    assert_same(ours(lambda a, b: a @ b, [left, right], weights),
                theirs(torch.matmul, [left, right], weights))  # fmt: skip


@st.composite
def array_and_axis(draw: Any) -> tuple[np.ndarray, int | None, bool]:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    return values(draw, shape, positive=False), axis, draw(st.booleans())


@pytest.mark.parametrize("reduction", ["sum", "mean", "max"])
@SETTINGS
@given(case=array_and_axis())
def test_reductions_over_axes(reduction: str, case: tuple[np.ndarray, int | None, bool]) -> None:
    array, axis, keepdims = case

    def mine(t: Tensor) -> Tensor:
        return getattr(t, reduction)(axis=axis, keepdims=keepdims)  # type: ignore[no-any-return]

    def torch_fn(t: torch.Tensor) -> torch.Tensor:
        if reduction == "max":
            return t.amax(dim=axis if axis is not None else tuple(range(t.dim())), keepdim=keepdims)
        method = getattr(t, reduction)
        return method(dim=axis, keepdim=keepdims) if axis is not None else method()

    out_shape = np.asarray(getattr(array, reduction)(axis=axis, keepdims=keepdims)).shape
    weights = np.linspace(-1.0, 2.0, int(np.prod(out_shape))).reshape(out_shape)
    assert_same(ours(mine, [array], weights), theirs(torch_fn, [array], weights))


def test_max_shares_the_gradient_of_a_tie_like_amax() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    weights = np.array([1.0, 1.0])
    assert_same(ours(lambda t: t.max(axis=1), [x], weights),
                theirs(lambda t: t.amax(dim=1), [x], weights))  # fmt: skip


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=2, max_dims=4, max_side=3), seed=st.integers(0, 99))
def test_reshape_transpose_and_integer_indexing(shape: tuple[int, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    array = rng.normal(size=shape)
    order = tuple(rng.permutation(len(shape)))
    rows = rng.integers(0, shape[0], size=5)  # repeats on purpose: their gradients add up

    def mine(t: Tensor) -> Tensor:
        return t.transpose(*order).reshape(-1)[2:][None] + t[rows].sum()

    def torch_fn(t: torch.Tensor) -> torch.Tensor:
        return t.permute(*order).reshape(-1)[2:][None] + t[torch.from_numpy(rows)].sum()

    size = int(np.prod(shape)) - 2
    assume(size > 0)
    weights = rng.normal(size=(1, size))
    assert_same(ours(mine, [array], weights), theirs(torch_fn, [array], weights))


@SETTINGS
@given(
    seed=st.integers(0, 999), batch=st.integers(1, 2), channels=st.integers(1, 3),
    outputs=st.integers(1, 3), size=st.integers(3, 6), kernel=st.integers(1, 3),
    stride=st.integers(1, 2), padding=st.integers(0, 1),
)  # fmt: skip
def test_conv2d_by_im2col_matches_torch(
    seed: int, batch: int, channels: int, outputs: int, size: int, kernel: int, stride: int,
    padding: int,
) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, channels, size, size))
    w = rng.normal(size=(outputs, channels, kernel, kernel))
    b = rng.normal(size=outputs)
    out_size = (size + 2 * padding - kernel) // stride + 1
    weights = rng.normal(size=(batch, outputs, out_size, out_size))
    assert_same(
        ours(lambda *t: F.conv2d(*t, stride=stride, padding=padding), [x, w, b], weights),
        theirs(lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=padding),
               [x, w, b], weights),
    )  # fmt: skip


def test_conv2d_matches_central_differences() -> None:
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3))]
    weights = rng.normal(size=(2, 3, 3, 3))

    def f(xs: list[np.ndarray]) -> float:
        with no_grad():
            out = F.conv2d(*[Tensor(x, dtype=np.float64) for x in xs], stride=2, padding=1)
        return float((out.data * weights).sum())

    _, grads = ours(lambda x, w: F.conv2d(x, w, stride=2, padding=1), arrays, weights)
    for ours_grad, numeric in zip(grads, central_differences(f, arrays), strict=True):
        np.testing.assert_allclose(ours_grad, numeric, rtol=1e-5, atol=1e-7)


def test_concatenate_splits_the_gradient() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 1))
    weights = rng.normal(size=(2, 4))
    assert_same(
        ours(lambda x, y: F.concatenate([x, y], axis=1), [a, b], weights),
        theirs(lambda x, y: torch.cat([x, y], dim=1), [a, b], weights),
    )


@SETTINGS
@given(seed=st.integers(0, 999), rows=st.integers(1, 6), classes=st.integers(2, 6),
       smoothing=st.sampled_from([0.0, 0.1, 0.3]), scale=st.sampled_from([1.0, 100.0]))  # fmt: skip
def test_log_softmax_and_cross_entropy(
    seed: int, rows: int, classes: int, smoothing: float, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(rows, classes)) * scale  # 100: exp would overflow unshifted
    labels = rng.integers(0, classes, rows)
    weights = np.ones(())
    assert_same(
        ours(lambda t: F.cross_entropy(t, labels, smoothing), [logits], weights),
        theirs(lambda t: torch.nn.functional.cross_entropy(
            t, torch.from_numpy(labels), label_smoothing=smoothing), [logits], weights),
    )  # fmt: skip
    weights = rng.normal(size=(rows, classes))
    assert_same(ours(lambda t: F.log_softmax(t, axis=1), [logits], weights),
                theirs(lambda t: torch.log_softmax(t, dim=1), [logits], weights))  # fmt: skip


def test_dropout_scales_what_it_keeps_and_is_off_in_eval() -> None:
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    out = F.dropout(x, 0.25, np.random.default_rng(0))
    kept = out.data != 0
    assert set(np.unique(out.data)) == {0.0, 1 / 0.75}
    assert 0.7 < kept.mean() < 0.8
    out.sum().backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad, out.data)  # the gradient is the same mask
    assert F.dropout(x, 0.25, np.random.default_rng(0), training=False) is x


@SETTINGS
@given(seed=st.integers(0, 999))
def test_composite_network_matches_central_differences(seed: int) -> None:
    """Every tensor operation in one network, float64, against (f(x + h) − f(x − h)) / 2h."""
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(5,))]
    labels = rng.integers(0, 5, 3)

    picked = np.array([0, 2, 2])  # repeated rows: their gradients add up

    def network(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
        hidden = (x @ w + b).tanh()
        mixed = F.concatenate([hidden, hidden.sigmoid()], axis=1).reshape(3, 2, 5).mean(axis=1)
        extra = hidden.T.sum(axis=0, keepdims=True).T + hidden[picked] / b.exp()
        logits = mixed * 2.0 - hidden.max(axis=1, keepdims=True) + extra
        return F.cross_entropy(logits, labels, 0.1)

    tensors = [Tensor(a, dtype=np.float64, requires_grad=True) for a in arrays]
    network(*tensors).backward()

    def f(xs: list[np.ndarray]) -> float:
        with no_grad():
            return network(*[Tensor(x, dtype=np.float64) for x in xs]).item()

    numeric = central_differences(f, arrays)
    for tensor, expected in zip(tensors, numeric, strict=True):
        np.testing.assert_allclose(tensor.grad, expected, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- the engine itself


def test_float32_by_default_float64_on_request() -> None:
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.zeros(2)).dtype == np.float64  # a float array keeps its precision
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3.0 + 1.0).relu().sigmoid() / 2.0
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad is not None and x.grad.dtype == np.float32


def test_a_deep_graph_does_not_recurse() -> None:
    x = Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(20_000):  # far past Python's recursion limit
        y = y * 1.0
    y.sum().backward()
    assert x.grad is not None and x.grad.tolist() == [1.0]


def test_shared_tensor_gradients_add_up_and_leaves_accumulate() -> None:
    x = Tensor([2.0], requires_grad=True)
    (x * x + x).sum().backward()
    assert x.grad is not None and x.grad.tolist() == [5.0]  # 2x + 1
    (x * 1.0).sum().backward()
    assert x.grad.tolist() == [6.0]  # accumulates until zeroed, as in PyTorch


def test_no_grad_records_nothing() -> None:
    w = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = w * 2.0
    assert not y.requires_grad and y.parents == ()
    with pytest.raises(RuntimeError, match="does not require"):
        y.backward()


def test_wrong_arity_and_shapes_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="add takes 2 arguments"):
        elementwise("add", Tensor([1.0]))
    with pytest.raises(ValueError, match="2 or more axes"):
        Tensor([1.0]) @ Tensor([[1.0]])


# ---------------------------------------------------------------- nn and optimizers


def torch_mlp_from(net: nn.Sequential) -> torch.nn.Sequential:
    """The same network in PyTorch, float64, weights copied (torch stores W transposed)."""
    linears = [layer for layer in net.layers if isinstance(layer, nn.Linear)]
    layers: list[torch.nn.Module] = [torch.nn.Flatten()]
    for index, layer in enumerate(linears):
        linear = torch.nn.Linear(*layer.weight.shape).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weight.data.T))
            linear.bias.copy_(torch.from_numpy(layer.bias.data))
        layers.append(linear)
        if index < len(linears) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


@pytest.fixture
def one_thread() -> Any:
    """numpy's BLAS and torch on one thread: two threads on two busy cores crawl (10x)."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_200_training_steps_match_pytorch_to_1e_5(kind: str, one_thread: None) -> None:
    """Same initial weights, same batches, float64: the weights after 200 steps agree."""
    from chainrule.mnist.data import load_mnist

    images, labels = load_mnist("test")
    x_all = (images[:3200].numpy().reshape(-1, 784) / 255.0 - 0.1307) / 0.3081
    y_all = labels[:3200].numpy()
    net = nn.mlp((32,), rng=np.random.default_rng(0), dtype=np.float64)
    reference = torch_mlp_from(net)
    if kind == "adam":
        mine: optim.Optimizer = optim.Adam(net.parameters(), lr=2e-3)
        torch_opt: torch.optim.Optimizer = torch.optim.Adam(reference.parameters(), lr=2e-3)
    else:
        mine = optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        torch_opt = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    for step in range(200):
        rows = slice((step * 16) % 3200, (step * 16) % 3200 + 16)
        x, y = x_all[rows], y_all[rows]
        mine.zero_grad()
        F.cross_entropy(net(Tensor(x, dtype=np.float64)), y, 0.1).backward()
        mine.step()
        torch_opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            reference(torch.from_numpy(x)), torch.from_numpy(y), label_smoothing=0.1
        )
        loss.backward()  # type: ignore[no-untyped-call]
        torch_opt.step()
    linears = [m for m in reference if isinstance(m, torch.nn.Linear)]
    ours_linears = [layer for layer in net.layers if isinstance(layer, nn.Linear)]
    for layer, theirs_layer in zip(ours_linears, linears, strict=True):
        np.testing.assert_allclose(layer.weight.data.T, theirs_layer.weight.detach().numpy(),
                                   atol=1e-5, rtol=0)  # fmt: skip
        np.testing.assert_allclose(layer.bias.data, theirs_layer.bias.detach().numpy(),
                                   atol=1e-5, rtol=0)  # fmt: skip
    moved = np.abs(ours_linears[0].weight.data - nn.mlp((32,), rng=np.random.default_rng(0),
                   dtype=np.float64).layers[1].weight.data).max()  # fmt: skip
    assert moved > 1e-3  # the weights did train


def test_initialisers_have_their_variances() -> None:
    rng = np.random.default_rng(0)
    assert abs(nn.kaiming_normal(1000, 500, rng).var() - 2 / 1000) < 1e-4
    assert abs(nn.xavier_uniform(1000, 500, rng).var() - 2 / 1500) < 1e-4
    layer = nn.Linear(400, 30, rng=rng)
    assert np.abs(layer.weight.data).max() <= 1 / 20


def test_weights_round_trip_through_npz_and_bad_files_are_one_line_errors(tmp_path: Any) -> None:
    net = nn.mlp((8,), rng=np.random.default_rng(0))
    nn.save(net, tmp_path / "w.npz")
    other = nn.mlp((8,), rng=np.random.default_rng(1))
    nn.load(other, tmp_path / "w.npz")
    for (name, a), (_, b) in zip(net.named_parameters(), other.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    with pytest.raises(ChainruleError, match=r"1.weight has shape \(784, 8\), the network needs"):
        nn.load(nn.mlp((16,), rng=np.random.default_rng(0)), tmp_path / "w.npz")
    with pytest.raises(ChainruleError, match=r"missing 5.bias, 5.weight"):
        nn.load(nn.mlp((8, 8), rng=np.random.default_rng(0)), tmp_path / "w.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ChainruleError, match=r"not a readable \.npz"):
        nn.load(net, tmp_path / "bad.npz")
    with pytest.raises(ChainruleError, match="no such file"):
        nn.load(net, tmp_path / "missing.npz")


# ---------------------------------------------------------------- the graph


def sheet_loss() -> Tensor:
    rng = np.random.default_rng(0)
    net = nn.mlp((128,), rng=rng)
    x = Tensor(rng.normal(size=(32, 784)), name="x")
    return F.cross_entropy(net(x), rng.integers(0, 10, 32))


def test_the_mlp_graph_is_explained_with_shapes_and_rules() -> None:
    text = explain(sheet_loss())
    assert "v1 = x @ W1" in text and "[32×128]" in text
    assert "∂L/∂W1 = xᵀ · ∂L/∂v1" in text and "[784×32] · [32×128] → [784×128]" in text
    assert "∂L/∂b1 = Σ over axis 0 of ∂L/∂v2" in text
    assert "∂L/∂v2 = ∂L/∂v3 ⊙ [v2 > 0]" in text  # relu's rule
    assert "log_softmax" in text


def test_the_mlp_graph_is_drawn_by_the_renderer() -> None:
    loss = sheet_loss()
    names = [step.name for step in trace(loss).steps]
    assert names[:2] == ["x", "W1"] and names[-1].startswith("v")
    svg = draw(loss, "svg", engine="builtin")
    assert isinstance(svg, str) and svg.count('class="node"') == len(names)
    assert "shape [32×784]" in svg and "∂L/∂W1 = xᵀ · ∂L/∂v1" in svg


def test_a_small_cnn_graph_is_explained() -> None:
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(2, 1, 6, 6)), name="x")
    kernels = Tensor(rng.normal(size=(4, 1, 3, 3)), requires_grad=True, name="K")
    bias = Tensor(np.zeros(4), requires_grad=True, name="c")
    features = F.conv2d(x, kernels, bias, stride=1, padding=1).relu().reshape(2, -1)
    text = explain(F.cross_entropy(features @ Tensor(rng.normal(size=(144, 3))), [0, 2]))
    assert "conv2d(x, K, stride=1, padding=1)" in text and "[2×4×6×6]" in text
    assert "∂L/∂K = Σ over windows of x · ∂L/∂v1" in text
