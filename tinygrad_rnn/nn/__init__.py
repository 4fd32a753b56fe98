"""Neural-network modules composed from the engine's Tensor ops: no hand-written backward anywhere.

>>> import tinygrad_rnn as tr
>>> rnn = tr.nn.RNN(input_size=8, hidden_size=16)
>>> output, h_n = rnn(tr.randn(5, 3, 8))          # (T, B, F) -> (T, B, H), (1, B, H)
"""

from . import functional, init
from .activation import Identity, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .linear import Dropout, Embedding, Linear, ModuleList, Sequential
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Embedding", "Identity",
    "IncompatibleKeys", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList", "NLLLoss",
    "Parameter", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh", "functional", "init",
]
