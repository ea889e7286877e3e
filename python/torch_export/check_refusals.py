"""Check that export.py refuses what the worker cannot run identically (needs torch).

    python python/torch_export/check_refusals.py

Named check_*, not test_*, so no pytest run in CI (which has no torch) ever collects it.
"""

import json
import math
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

from export import ExportError, export
from model import RecurrentClassifier

FEATURES = [f"f{i}" for i in range(4)]
GOOD = dict(feature_names=FEATURES, scaler_mean=[0.0] * 4, scaler_std=[1.0] * 4,
            labels={}, sequence_length=5, source="check_refusals")


def model(kind="lstm", **rnn):
    m = RecurrentClassifier(kind, 4, 6, 2)
    if rnn:
        m.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[kind](**{"input_size": 4, "hidden_size": 6,
                                                         "num_layers": 2, "batch_first": True,
                                                         **rnn})
        m.head = nn.Linear(m.rnn.hidden_size * (2 if m.rnn.bidirectional else 1), 3)
    return m


def poisoned(value):
    m = model()
    with torch.no_grad():
        m.rnn.weight_hh_l1[2, 3] = value
    return m


class Softmaxed(RecurrentClassifier):
    def forward(self, x):
        return torch.softmax(super().forward(x), dim=1)


class MeanPooled(RecurrentClassifier):
    def forward(self, x):
        return self.head(self.rnn(x)[0].mean(dim=1))


class WithExtra(RecurrentClassifier):
    def __init__(self, *a):
        super().__init__(*a)
        self.norm = nn.LayerNorm(4)


# (what, module, keyword overrides, a word the message must contain)
CASES = [
    ("bidirectional", model(bidirectional=True), {}, "bidirectional"),
    ("proj_size", model(proj_size=3), {}, "proj_size"),
    ("batch_first=False", model(batch_first=False), {}, "batch_first"),
    ("GRU batch_first=False", model("gru", batch_first=False), {}, "batch_first"),
    ("bias=False", model(bias=False), {}, "bias"),
    ("4 layers", model(num_layers=4), {}, "num_layers"),
    ("NaN weight", poisoned(math.nan), {}, "NaN"),
    ("infinite weight", poisoned(math.inf), {}, "infinite"),
    ("softmax in forward", Softmaxed("lstm", 4, 6, 2), {}, "forward"),
    ("mean pooling", MeanPooled("gru", 4, 6, 1), {}, "forward"),
    ("extra tensors", WithExtra("lstm", 4, 6, 1), {}, "would not use"),
    ("wrong input size", model(), {"feature_names": FEATURES[:3]}, "input_size"),
    ("short scaler", model(), {"scaler_std": [1.0] * 3}, "scaler"),
    ("zero std", model(), {"scaler_std": [1.0, 0.0, 1.0, 1.0]}, "std[1]"),
    ("NaN mean", model(), {"scaler_mean": [0.0, math.nan, 0.0, 0.0]}, "mean[1]"),
    ("unknown label key", model(), {"labels": {"horizn": 6}}, "horizn"),
    ("bad thresholds", model(), {"labels": {"long_threshold": -0.1}}, "threshold"),
    ("bad volatility", model(), {"labels": {"kind": "volatility", "volatility_k": 0}}, "volatility"),
    ("zero window", model(), {"sequence_length": 0}, "sequence_length"),
]


def main() -> int:
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, module, overrides, word in CASES:
            out = Path(tmp) / what
            try:
                export(module, out, **{**GOOD, **overrides})
                message = None
            except ExportError as e:
                message = str(e)
            ok = message is not None and word in message and not out.exists()
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {what}: {message}")
        # And the good case writes both files, with defaults filled into the labels.
        out = Path(tmp) / "good"
        export(model("gru"), out, **GOOD)
        labels = json.loads((out / "model.json").read_text())["labels"]
        ok = (out / "model.safetensors").exists() and labels["horizon"] == 6
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} valid GRU exports")
    print(f"refusals: {len(CASES) + 1 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
