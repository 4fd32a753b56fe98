"""Neural-network modules composed from the engine's Tensor ops: no hand-written backward anywhere.

>>> import tinygrad_rnn as tr
>>> rnn = tr.nn.RNN(input_size=8, hidden_size=16)
>>> output, h_n = rnn(tr.randn(5, 3, 8))          # (T, B, F) -> (T, B, H), (1, B, H)
"""

from . import functional, init
from .activation import Identity, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .attention import Attention
from .linear import Dropout, Embedding, Linear, ModuleList, Sequential
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter
from .recurrent import GRU, LSTM, RNN, BiRNN, GRUCell, JordanCell, LSTMCell, RNNCell

__all__ = [
    "GRU", "LSTM", "RNN", "Attention", "BCEWithLogitsLoss", "BiRNN", "CrossEntropyLoss",
    "Dropout", "Embedding", "GRUCell", "Identity", "IncompatibleKeys", "JordanCell", "LSTMCell",
    "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList", "NLLLoss", "Parameter", "RNNCell",
    "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh", "functional", "init",
]
