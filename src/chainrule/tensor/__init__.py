"""chainrule's own tensors: backpropagation over numpy arrays, from the scalar engine's ops.

>>> from chainrule.tensor import Tensor
>>> w = Tensor([[1.0, -1.0]], requires_grad=True)
>>> loss = (Tensor([[2.0], [3.0]]) @ w).relu().sum()
>>> loss.backward()
>>> loss.item(), w.grad.tolist()
(5.0, [[5.0, 0.0]])
"""

from chainrule.tensor.tensor import Tensor, elementwise, matmul, no_grad

__all__ = ["Tensor", "elementwise", "matmul", "no_grad"]
