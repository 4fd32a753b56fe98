"""How fast the two engine targets can be at all: a bare engine of the same contract, timed.

The op-overhead and Scalar-MLP targets ask for a ratio. This script measures what an engine
built the way the brief asks (an op is a record made per call, with `forward` and `backward`
on raw data; a value holds its creator and a record its inputs; backward runs the records
latest first from a heap and adds up the gradients of reused values), and with nothing else,
reaches on the same two computations, interleaved in one run with tinygrad_rnn and the
baselines. The bare engine has no hooks, no shape or dtype checks, no anomaly mode, no
version counter, no scopes and no error messages: its figure is a floor, not a rival.

For the op overhead it also times the same chain rule written straight-line in numpy (seed,
spread the sum, tanh's, add's and matmul's backward): the array work any reverse-mode engine
does, with no engine at all.

    python benchmarks/floor.py [--rounds 400] [--mlp-rounds 5]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import heapq  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import op_overhead  # noqa: E402
import scalar_mlp  # noqa: E402
from _timing import format_seconds, interleaved_medians  # noqa: E402

from tinygrad_rnn import Scalar  # noqa: E402
from tinygrad_rnn.autograd.engine import ProductGrad, unbroadcast  # noqa: E402
from tinygrad_rnn.autograd.function import Clock  # noqa: E402
from tinygrad_rnn.autograd.mode import Switches, state  # noqa: E402

_new = object.__new__
_sequence = itertools.count(-1, -1)


class BareValue:
    """A float or an ndarray in the bare graph: data, gradient, creator."""

    __slots__ = ("creator", "data", "grad", "requires_grad")

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self.data = data
        self.grad = None
        self.creator = None
        self.requires_grad = requires_grad

    def __add__(self, other: Any) -> BareValue:
        return BareAdd.apply(self, other)

    __radd__ = __add__

    def __mul__(self, other: Any) -> BareValue:
        return BareMul.apply(self, other)

    __rmul__ = __mul__

    def __matmul__(self, other: Any) -> BareValue:
        return BareMatMul.apply(self, other)

    def relu(self) -> BareValue:
        return BareRelu.apply(self, None)

    def tanh(self) -> BareValue:
        return BareTanh.apply(self, None)

    def sum(self) -> BareValue:
        return BareSum.apply(self, None)

    def backward(self) -> None:
        """Records latest first from a heap; leaves collect their gradient in `.grad`."""
        grads = {self: np.ones_like(self.data) if isinstance(self.data, np.ndarray) else 1.0}
        frontier = [(self.creator.sequence, self)]
        leaves = []
        while frontier:
            value = heapq.heappop(frontier)[1]
            record = value.creator
            in_grads = type(record).backward(record, grads.pop(value))
            for parent, grad, needed in zip((record.first, record.second), in_grads, record.needs):
                if not needed:
                    continue
                if type(grad) is np.ndarray and grad.shape != parent.data.shape:
                    grad = np.add.reduce(grad, axis=0)  # the only broadcast here: a bias row
                current = grads.get(parent)
                if current is not None:
                    grads[parent] = current + grad
                    continue
                grads[parent] = grad
                if parent.creator is None:
                    leaves.append(parent)
                else:
                    heapq.heappush(frontier, (parent.creator.sequence, parent))
            record.saved = None
        for leaf in leaves:
            grad = grads.pop(leaf)
            leaf.grad = grad if leaf.grad is None else leaf.grad + grad


class BareOp:
    """An op record: up to two inputs, what forward saved, which inputs need a gradient."""

    __slots__ = ("first", "needs", "saved", "second", "sequence")

    @classmethod
    def apply(cls, first: BareValue, second: Any) -> BareValue:
        record = _new(cls)
        if isinstance(second, BareValue):
            record.needs = (first.requires_grad, second.requires_grad)
            data = cls.forward(record, first.data, second.data)
        else:
            record.needs = (first.requires_grad, False)
            data = cls.forward(record, first.data, second)
        out = _new(BareValue)
        out.data = data
        out.grad = None
        out.requires_grad = True
        out.creator = record
        record.first = first
        record.second = second
        record.sequence = next(_sequence)
        return out


class BareAdd(BareOp):
    __slots__ = ()

    @staticmethod
    def forward(record, x, y):
        return x + y

    @staticmethod
    def backward(record, grad):
        return grad, grad


class BareMul(BareOp):
    __slots__ = ()

    @staticmethod
    def forward(record, x, y):
        record.saved = (x, y)
        return x * y

    @staticmethod
    def backward(record, grad):
        x, y = record.saved
        return grad * y, grad * x


class BareRelu(BareOp):
    __slots__ = ()

    @staticmethod
    def forward(record, x, _):
        record.saved = x > 0.0
        return x if x > 0.0 else 0.0

    @staticmethod
    def backward(record, grad):
        return (grad if record.saved else 0.0), None


class BareMatMul(BareOp):
    __slots__ = ()

    @staticmethod
    def forward(record, a, b):
        record.saved = a
        return a @ b

    @staticmethod
    def backward(record, grad):
        return None, record.saved.T @ grad  # the benchmark's x needs no gradient


class BareTanh(BareOp):
    __slots__ = ()

    @staticmethod
    def forward(record, x, _):
        record.saved = out = np.tanh(x)
        return out

    @staticmethod
    def backward(record, grad):
        out = record.saved
        return grad * (1 - out * out), None


class BareSum(BareOp):
    __slots__ = ()

    @staticmethod
    def forward(record, x, _):
        record.saved = x.shape
        return np.add.reduce(x, None)

    @staticmethod
    def backward(record, grad):
        out = np.empty(record.saved)
        out[...] = grad
        return out, None


# -- the bare engine with the features the issues require of every op ----------------------------
# Each at its cheapest, as one flag, slot or comparison: grad mode and scope per thread (read
# only while some thread has left the defaults), anomaly mode, the version stamp and check for
# in-place edits, the freed-graph check of retain_graph=False, hooks, names and scopes on values,
# a shared needs_input_grad, outputs coerced to ndarray, gradients brought to their input's
# shape and dtype, the unevaluated weight product that shared weights need, and leaf gradients
# that are values, not raw arrays. No error messages, no generic arities, no Scalars.

FREED = object()
_LAZY = (ProductGrad,)
_SHARED_NEEDS = {needs: needs for needs in itertools.product((False, True), repeat=2)}


class FeaturedValue(BareValue):
    """A bare value with the fields the features keep on every value."""

    __slots__ = ("__weakref__", "_hooks", "_scope", "_version", "name")

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        super().__init__(data, requires_grad)
        self._hooks = self._scope = self.name = None
        self._version = 0

    @staticmethod
    def wrap(data: np.ndarray) -> FeaturedValue:
        value = _new(FeaturedValue)
        value.data = data
        value.grad = value.creator = value._hooks = value._scope = value.name = None
        value.requires_grad = False
        value._version = 0
        return value

    def __add__(self, other: Any) -> FeaturedValue:
        return FeaturedAdd.apply(self, other)

    def __matmul__(self, other: Any) -> FeaturedValue:
        return FeaturedMatMul.apply(self, other)

    def tanh(self) -> FeaturedValue:
        return FeaturedTanh.apply(self, None)

    def sum(self) -> FeaturedValue:
        return FeaturedSum.apply(self, None)

    def backward(self) -> None:
        data = self.data
        if not self.requires_grad or data.size != 1:
            raise RuntimeError("backward() needs a one-element value that requires grad")
        grads = {self: np.array(1, dtype=data.dtype).reshape(data.shape)}
        frontier = [(self.creator.sequence, self)]
        leaves, owned = [], set()
        anomaly = Switches.changed and state.anomaly
        ndarray = np.ndarray
        while frontier:
            value = heapq.heappop(frontier)[1]
            grad = grads.pop(value)
            if value._hooks or type(grad) in _LAZY:
                grad = grad.dense()  # (hooks would run here)
            record = value.creator
            if record.saved is FREED or Clock.ticks > record.created_at:
                raise RuntimeError("graph freed, or a saved array modified in place")
            in_grads = type(record).backward(record, grad)
            if anomaly:
                raise RuntimeError("anomaly mode is not timed")
            for parent, in_grad, needed in zip((record.first, record.second), in_grads, record.needs):
                if not needed or in_grad is None:
                    continue
                parent_data = parent.data
                if (type(in_grad) is not ndarray or in_grad.shape != parent_data.shape
                        or in_grad.dtype is not parent_data.dtype) and type(in_grad) not in _LAZY:
                    in_grad = unbroadcast(in_grad, parent_data.shape).astype(parent_data.dtype, copy=False)
                    owned.add(parent)
                current = grads.get(parent)
                if current is not None:
                    grads[parent] = current + in_grad
                    continue
                grads[parent] = in_grad
                if parent.creator is None:
                    leaves.append(parent)
                else:
                    heapq.heappush(frontier, (parent.creator.sequence, parent))
            record.saved = FREED
        for leaf in leaves:
            grad = grads.pop(leaf)
            if leaf._hooks or type(grad) in _LAZY:
                grad = grad.dense()
                owned.add(leaf)
            if leaf.grad is None:
                leaf.grad = FeaturedValue.wrap(grad if leaf in owned else np.array(grad))
            else:
                leaf.grad.data = leaf.grad.data + grad


class FeaturedOp(BareOp):
    """A bare op record with a version stamp, made by an `apply` with the features' checks."""

    __slots__ = ("created_at",)

    @classmethod
    def apply(cls, first: FeaturedValue, second: Any) -> FeaturedValue:
        record = _new(cls)
        record.saved = ()
        if isinstance(second, BareValue):
            needs = (first.requires_grad, second.requires_grad)
            second_data = second.data
        else:
            needs = (first.requires_grad, False)
            second_data = second
        if Switches.changed:
            grad_enabled, anomaly, scope = state.grad_enabled, state.anomaly, state.scope
        else:
            grad_enabled, anomaly, scope = True, False, None
        any_grad = True in needs and grad_enabled
        record.needs = _SHARED_NEEDS.get(needs, needs)
        try:
            data = cls.forward(record, first.data, second_data)
        except ValueError as error:
            raise ValueError(f"{cls.__name__}: {error}") from error
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        out = _new(FeaturedValue)
        out.data = data
        out.grad = out._hooks = out.name = None
        out._scope = scope
        out._version = 0
        if anomaly:
            raise RuntimeError("anomaly mode is not timed")
        if any_grad:
            record.first = first
            record.second = second
            record.created_at = Clock.ticks
            record.sequence = next(_sequence)
            out.requires_grad = True
            out.creator = record
        else:
            out.requires_grad = False
            out.creator = None
        return out


class FeaturedAdd(FeaturedOp, BareAdd):
    __slots__ = ()


class FeaturedTanh(FeaturedOp, BareTanh):
    __slots__ = ()


class FeaturedSum(FeaturedOp, BareSum):
    __slots__ = ()


class FeaturedMatMul(FeaturedOp):
    __slots__ = ()

    @staticmethod
    def forward(record, a, b):
        record.saved = (a, b)
        return a @ b

    @staticmethod
    def backward(record, grad):
        a, b = record.saved
        need_a, need_b = record.needs
        return (grad @ b.T if need_a else None), (ProductGrad(a, grad, b.dtype) if need_b else None)


def straight_line_step(x: np.ndarray, weight: np.ndarray, bias: np.ndarray):
    """sum(tanh(x @ W + b)) and the generic chain rule, straight-line numpy."""

    def step() -> tuple[Any, np.ndarray, np.ndarray]:
        hidden = np.tanh(x @ weight + bias)
        loss = np.add.reduce(hidden, None)
        d_hidden = np.empty(hidden.shape)
        d_hidden[...] = np.ones_like(loss)
        d_pre = d_hidden * (1 - hidden * hidden)
        return loss, x.T @ d_pre, np.add.reduce(d_pre, axis=0)

    return step


def small_engine_step(value_type: type[BareValue], x: np.ndarray, weight: np.ndarray, bias: np.ndarray):
    """The op-overhead step on the bare engine's values or the featured engine's."""
    x_value = value_type(x)
    weight_value = value_type(weight.copy(), requires_grad=True)
    bias_value = value_type(bias.copy(), requires_grad=True)
    grads_are_values = value_type is FeaturedValue  # as the features require; bare ones are arrays

    def step() -> tuple[Any, np.ndarray, np.ndarray]:
        weight_value.grad = None
        bias_value.grad = None
        loss = (x_value @ weight_value + bias_value).tanh().sum()
        loss.backward()
        if grads_are_values:
            return loss.data, weight_value.grad.data, bias_value.grad.data
        return loss.data, weight_value.grad, bias_value.grad

    return step


class BareMLP(scalar_mlp.ScalarMLP):
    """The benchmark's MLP on bare values."""

    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray]) -> None:
        self.layers = [
            ([[BareValue(float(w), True) for w in row] for row in weight],
             [BareValue(float(b), True) for b in bias])
            for weight, bias in zip(weights, biases)
        ]


def op_overhead_floor(rounds: int) -> None:
    rng = np.random.default_rng(0)
    x, weight = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    bias = rng.standard_normal(4)
    candidates = {
        "hand numpy": op_overhead.make_numpy_step(x, weight, bias),
        "chain rule numpy": straight_line_step(x, weight, bias),
        "bare engine": small_engine_step(BareValue, x, weight, bias),
        "bare + features": small_engine_step(FeaturedValue, x, weight, bias),
        "tinygrad_rnn": op_overhead.make_engine_step(x, weight, bias),
    }
    expected = candidates["hand numpy"]()
    for name, step in candidates.items():
        for want, got in zip(expected, step()):
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
    medians = interleaved_medians(candidates, rounds)
    print(f"op overhead floor: sum(tanh(x @ W + b)), 4x4 float64; median of {rounds} interleaved rounds")
    for name, seconds in medians.items():
        ratio = seconds / medians["hand numpy"]
        print(f"  {name:<17} {format_seconds(seconds):>10} per step  {ratio:5.2f}x hand numpy")


def scalar_mlp_floor(rounds: int) -> None:
    rng = np.random.default_rng(1337)
    points, labels = scalar_mlp.make_moons(100, 0.1, rng)
    weights, biases = scalar_mlp.init_weights(rng)
    ours = scalar_mlp.ScalarMLP(weights, biases)
    bare = BareMLP(weights, biases)
    candidates = {
        "bare engine": scalar_mlp.make_step(bare, bare.parameters(), points, labels, BareValue, None),
        "tinygrad_rnn": scalar_mlp.make_step(ours, ours.parameters(), points, labels, Scalar, None),
    }
    reference = scalar_mlp.micrograd_model(weights, biases)
    if reference is not None:
        from micrograd.engine import Value

        reference_parameters = scalar_mlp._micrograd_parameters_in_our_order(reference)
        candidates["micrograd"] = scalar_mlp.make_step(reference, reference_parameters, points, labels,
                                                       Value, 0.0)
    losses = {name: step() for name, step in candidates.items()}
    for name, loss in losses.items():
        if not math.isclose(loss, losses["tinygrad_rnn"], rel_tol=1e-9):
            raise SystemExit(f"losses differ: {name} {loss}, tinygrad_rnn {losses['tinygrad_rnn']}")
    medians = interleaved_medians(candidates, rounds, round_seconds=0.0, warmup=1, charge_garbage=True)
    micrograd_seconds = medians.get("micrograd", scalar_mlp.QUOTED_MICROGRAD_SECONDS)
    print(f"scalar MLP floor: micrograd's demo step; median of {rounds} interleaved rounds (CPU time)")
    for name, seconds in medians.items():
        print(f"  {name:<17} {format_seconds(seconds):>10} per step  {micrograd_seconds / seconds:5.2f}x "
              f"faster than micrograd{'' if reference is not None else ' (quoted 1.75 s)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400, help="interleaved rounds of the op-overhead step")
    parser.add_argument("--mlp-rounds", type=int, default=5, help="interleaved rounds of the MLP step")
    args = parser.parse_args()
    op_overhead_floor(args.rounds)
    scalar_mlp_floor(args.mlp_rounds)


if __name__ == "__main__":
    main()
