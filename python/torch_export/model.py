"""The module shape the exporter accepts: one recurrent stack and one linear head.

Any `nn.Module` with the same two attributes (`rnn`, `head`) and the same forward works; this
class is just the shortest correct one. The attribute names matter: they are the prefixes of the
tensor names in the exported safetensors file (`rnn.weight_ih_l0`, `head.weight`, ...).
"""

import torch
from torch import nn


class RecurrentClassifier(nn.Module):
    """`nn.LSTM` or `nn.GRU` (batch_first) followed by `nn.Linear(hidden, 3)` over the last step.

    The three outputs are logits in signal-worker's class order: index 0 long, 1 short,
    2 neutral. The worker applies the softmax itself, so `forward` returns raw logits.
    """

    def __init__(self, kind: str, inputs: int, hidden: int, layers: int, dropout: float = 0.0):
        super().__init__()
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[kind]
        # Dropout between layers has no weights and is off in eval mode, so it exports as nothing.
        self.rnn = cell(inputs, hidden, num_layers=layers, batch_first=True,
                        dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [batch, steps, inputs], already scaled. out[:, -1] is the top layer's last hidden
        # state (equal to h_n[-1] for a unidirectional stack), what the worker's head reads.
        out, _ = self.rnn(x)
        return self.head(out[:, -1, :])
