"""Export a PyTorch LSTM/GRU classifier for signal-worker: `model.safetensors` + `model.json`.

The module must look like `model.RecurrentClassifier`: an attribute `rnn` (`nn.LSTM` or `nn.GRU`,
1-3 layers, batch_first=True, unidirectional, no proj_size, with biases) and an attribute `head`
(`nn.Linear(hidden, 3)`), forward = `head(rnn(x)[0][:, -1, :])` returning logits in the order
long, short, neutral. Anything else is refused with a message saying what to change, because a
model the worker would run differently from PyTorch must never be written.

Weights keep PyTorch's own state_dict names, as float32, so the file can be checked against the
module with nothing but `torch.load_state_dict`. For layer k = 0..layers-1 (H = hidden, I = inputs
for k = 0 and H above, G = 4 for LSTM, 3 for GRU):

    rnn.weight_ih_l{k}  [G*H, I]   LSTM gate blocks i, f, g, o; GRU r, z, n
    rnn.weight_hh_l{k}  [G*H, H]   same blocks
    rnn.bias_ih_l{k}    [G*H]
    rnn.bias_hh_l{k}    [G*H]
    head.weight         [3, H]     rows long, short, neutral
    head.bias           [3]

`reference.py` is the numpy forward over exactly these tensors.
"""

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import safetensors
import torch
from safetensors.torch import load_file, save_file
from torch import nn

FORMAT = "signal-worker-torch-export"
FORMAT_VERSION = 1
# signal-worker's class order (src/model/side.rs CLASS_ORDER): head output i is this class.
CLASS_ORDER = ["long", "short", "neutral"]
MAX_LAYERS = 3
# The worker's limits (src/model/architecture.rs MAX_DIMENSION, src/model/scaler.rs STD_FLOOR).
MAX_DIMENSION = 4096
STD_FLOOR = 1e-6
# src/model/labels.rs LabelSpec defaults, filled in for keys the caller leaves out.
LABEL_DEFAULTS = {
    "kind": "fixed",
    "horizon": 6,
    "long_threshold": 0.005,
    "short_threshold": -0.005,
    "volatility_k": 0.5,
    "volatility_window": 100,
}
WEIGHTS_FILE = "model.safetensors"
DESCRIPTION_FILE = "model.json"


class ExportError(ValueError):
    """The module or its metadata cannot be exported as something the worker runs identically."""


def tensor_names(layers: int) -> list:
    """The exact tensor names written, in file order."""
    names = []
    for k in range(layers):
        names += [f"rnn.weight_ih_l{k}", f"rnn.weight_hh_l{k}", f"rnn.bias_ih_l{k}",
                  f"rnn.bias_hh_l{k}"]
    return names + ["head.weight", "head.bias"]


def f32(value: float) -> float:
    """`value` rounded to float32, as the shortest decimal that reads back as that float32.

    The worker stores scaler values as f32 and serde reads JSON numbers as f64 then rounds, so
    the check below is exactly the worker's read path.
    """
    single = np.float32(value)
    short = float(str(single))
    if np.float32(short) != single:
        short = float(single)  # exact fallback; never seen, but never wrong
    return short


def check_rnn(module: nn.Module, inputs: int):
    rnn = getattr(module, "rnn", None)
    head = getattr(module, "head", None)
    if not isinstance(rnn, (nn.LSTM, nn.GRU)):
        raise ExportError(f"module.rnn must be nn.LSTM or nn.GRU, found {type(rnn).__name__}")
    if not isinstance(head, nn.Linear):
        raise ExportError(f"module.head must be nn.Linear, found {type(head).__name__}")
    if rnn.bidirectional:
        raise ExportError("bidirectional RNNs are not supported: the worker reads the window "
                          "forward only (build it with bidirectional=False)")
    if getattr(rnn, "proj_size", 0) > 0:
        raise ExportError(f"LSTM proj_size={rnn.proj_size} is not supported: the worker's LSTM "
                          "has no projection (build it with proj_size=0)")
    if not rnn.batch_first:
        raise ExportError("batch_first=False is not supported: build the RNN with "
                          "batch_first=True so forward takes [batch, steps, features]")
    if not rnn.bias:
        raise ExportError("bias=False is not supported: the worker's layers always have biases")
    if not 1 <= rnn.num_layers <= MAX_LAYERS:
        raise ExportError(f"num_layers={rnn.num_layers}; 1 to {MAX_LAYERS} are supported")
    if rnn.input_size != inputs:
        raise ExportError(f"rnn.input_size={rnn.input_size} but {inputs} feature names given")
    if not 1 <= rnn.hidden_size <= MAX_DIMENSION:
        raise ExportError(f"hidden_size={rnn.hidden_size} is outside 1..{MAX_DIMENSION}")
    if head.in_features != rnn.hidden_size or head.out_features != len(CLASS_ORDER):
        raise ExportError(f"head is Linear({head.in_features}, {head.out_features}); it must be "
                          f"Linear({rnn.hidden_size}, 3) with outputs {', '.join(CLASS_ORDER)}")
    if head.bias is None:
        raise ExportError("head must have a bias (nn.Linear(..., bias=True))")
    return rnn, head


def collect_tensors(module: nn.Module, layers: int) -> dict:
    """The state_dict as float32 CPU tensors, refusing extra, missing or non-finite tensors."""
    state = module.state_dict()
    wanted = tensor_names(layers)
    extra = sorted(set(state) - set(wanted))
    if extra:
        # A tensor the worker ignores would make it compute something else than PyTorch.
        raise ExportError(f"module has tensors the worker would not use: {extra}")
    missing = [n for n in wanted if n not in state]
    if missing:
        raise ExportError(f"module lacks tensors: {missing}")
    tensors = {}
    for name in wanted:
        t = state[name].detach().to("cpu", torch.float32).contiguous()
        bad = ~torch.isfinite(t)
        if bad.any():
            kind = "NaN" if torch.isnan(t).any() else "infinite"
            raise ExportError(f"{name} has {int(bad.sum())} {kind} value(s) (first at flat "
                              f"index {int(bad.flatten().nonzero()[0])}); refusing to export a "
                              "broken model")
        tensors[name] = t
    return tensors


def check_forward(module: nn.Module, rnn, head, inputs: int, steps: int) -> None:
    """Refuse a module whose forward is not `head(rnn(x)[0][:, -1])`: the worker computes only that
    (a softmax in forward, pooling over steps or a different step would silently differ)."""
    generator = torch.Generator().manual_seed(0)
    weight = rnn.weight_ih_l0  # probe in the module's own dtype and device
    x = torch.randn(2, steps, inputs, generator=generator).to(weight.device, weight.dtype)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            got = module(x)
            want = head(rnn(x)[0][:, -1, :])
    finally:
        module.train(was_training)
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        raise ExportError(f"module(x) returned {getattr(got, 'shape', type(got))}, expected "
                          f"logits of shape {tuple(want.shape)}")
    if not torch.allclose(got.float(), want.float(), rtol=1e-5, atol=1e-6):
        raise ExportError("module.forward is not head(rnn(x)[0][:, -1, :]) (raw logits of the "
                          "last step); the worker would compute something else")


def check_names(feature_names) -> list:
    names = [str(n) for n in feature_names]
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise ExportError("feature_names must be non-empty, unique, non-empty strings")
    return names


def check_scaler(mean, std, inputs: int) -> dict:
    mean, std = [float(v) for v in mean], [float(v) for v in std]
    if len(mean) != inputs or len(std) != inputs:
        raise ExportError(f"scaler has {len(mean)} means and {len(std)} stds for {inputs} "
                          "features (one each, in feature order)")
    for i, m in enumerate(mean):
        if not math.isfinite(m):
            raise ExportError(f"scaler mean[{i}] = {m} is not finite")
    for i, s in enumerate(std):
        if not math.isfinite(s) or np.float32(s) < np.float32(STD_FLOOR):
            raise ExportError(f"scaler std[{i}] = {s} is not finite or below {STD_FLOOR} "
                              "(floor near-constant features as the worker does)")
    return {"mean": [f32(m) for m in mean], "std": [f32(s) for s in std]}


def check_labels(labels: dict) -> dict:
    """LabelSpec with defaults filled in, validated as `LabelSpec::validate` does."""
    unknown = sorted(set(labels) - set(LABEL_DEFAULTS))
    if unknown:
        raise ExportError(f"unknown label keys {unknown}; known: {sorted(LABEL_DEFAULTS)}")
    spec = {**LABEL_DEFAULTS, **labels}
    if spec["kind"] not in ("fixed", "volatility"):
        raise ExportError(f"labels.kind = {spec['kind']!r}; expected 'fixed' or 'volatility'")
    for key in ("horizon", "volatility_window"):
        if isinstance(spec[key], bool) or not isinstance(spec[key], int) or spec[key] < 0:
            raise ExportError(f"labels.{key} must be a non-negative integer")
    for key in ("long_threshold", "short_threshold", "volatility_k"):
        spec[key] = float(spec[key])
    if spec["horizon"] < 1:
        raise ExportError("labels.horizon must be at least 1 bar")
    if not (math.isfinite(spec["long_threshold"]) and math.isfinite(spec["short_threshold"])
            and spec["short_threshold"] < 0 < spec["long_threshold"]):
        raise ExportError("labels need finite short_threshold < 0 < long_threshold")
    if spec["kind"] == "volatility" and not (
            math.isfinite(spec["volatility_k"]) and spec["volatility_k"] > 0
            and spec["volatility_window"] >= 2):
        raise ExportError("volatility labels need volatility_k > 0 and volatility_window >= 2")
    return spec


def read_back(out_dir) -> dict:
    """The written weights as a state_dict (for `load_state_dict(..., strict=True)` checks)."""
    return load_file(str(Path(out_dir) / WEIGHTS_FILE))


def export(module: nn.Module, out_dir, *, feature_names, scaler_mean, scaler_std, labels: dict,
           sequence_length: int, source: str) -> dict:
    """Write `out_dir/model.safetensors` and `out_dir/model.json`; return the description.

    `scaler_mean`/`scaler_std` are per feature in `feature_names` order (the model's inputs are
    `(raw - mean) / std`); `labels` uses LabelSpec's keys; `source` is free text saying where the
    model came from (training script, commit, data). Nothing is written if a check fails.
    """
    names = check_names(feature_names)
    rnn, head = check_rnn(module, len(names))
    layers, hidden = rnn.num_layers, rnn.hidden_size
    if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) \
            or not 1 <= sequence_length <= MAX_DIMENSION:
        raise ExportError(f"sequence_length must be an integer in 1..{MAX_DIMENSION}")
    tensors = collect_tensors(module, layers)
    scaler = check_scaler(scaler_mean, scaler_std, len(names))
    spec = check_labels(dict(labels))
    check_forward(module, rnn, head, len(names), sequence_length)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_FILE
    save_file(tensors, str(weights))
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        # Same keys as the worker's Architecture, so it deserialises as one.
        "architecture": {
            "kind": "lstm" if isinstance(rnn, nn.LSTM) else "gru",
            "layers": layers,
            "hidden": hidden,
            "inputs": len(names),
            "sequence_length": sequence_length,
            "classes": len(CLASS_ORDER),
        },
        "class_order": CLASS_ORDER,
        "feature_names": names,
        "scaler": scaler,
        "labels": spec,
        "weights": {
            "file": WEIGHTS_FILE,
            "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
            "dtype": "F32",
            "tensors": {n: list(t.shape) for n, t in tensors.items()},
        },
        "provenance": {
            "torch_version": torch.__version__,
            "safetensors_version": safetensors.__version__,
            "exporter": "python/torch_export/export.py",
            "source": str(source),
        },
    }
    (out / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return description
