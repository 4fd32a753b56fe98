"""The exceptions tinygrad_rnn raises, each specific enough to catch and act on."""

from __future__ import annotations


class ShapeError(ValueError):
    """Operands whose shapes do not fit the operation; the message names the op and the shapes."""


class DTypeError(TypeError):
    """Data of a dtype the operation cannot use (integers where a gradient is needed, complex...)."""


class BackwardError(RuntimeError):
    """A backward pass that cannot run as asked (non-scalar output without `gradient`, ...)."""


class GraphFreedError(BackwardError):
    """Backward through a graph whose saved values were freed by an earlier backward."""


class InplaceModificationError(BackwardError):
    """A value saved for backward was modified in place after the op that saved it ran."""


class AnomalyError(FloatingPointError):
    """Anomaly mode saw an op produce NaN or Inf (forward output or gradient)."""


class StateDictError(ValueError):
    """A state dict that does not match a module: missing, unexpected or mis-shaped entries."""


class SerializationError(ValueError):
    """A file that cannot be read as a tinygrad_rnn checkpoint (missing, truncated, unsafe)."""


class CheckpointNotFoundError(SerializationError, FileNotFoundError):
    """`load` of a path that does not exist: catchable as SerializationError or FileNotFoundError."""


class GraphvizNotFoundError(RuntimeError):
    """Rendering a drawing needs Graphviz's `dot` program, which is not installed or not on PATH."""
