"""Reference forward of an exported model in plain numpy (no torch), and the fixtures' self-check.

This is the specification the Rust importer implements. It reads `model.safetensors` with its
own 15-line parser and runs PyTorch's documented equations (float64, so it is a reference, not
another float32 implementation). With x_t the step input and h, c the state (zero at t = 0):

LSTM, blocks of weight_ih/weight_hh/bias_* in the order i, f, g, o (each H rows):
    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      f = sigmoid(... f block ...)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)         o = sigmoid(... o block ...)
    c = f * c + i * g                               h = o * tanh(c)
GRU, blocks in the order r, z, n:
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   h = (1 - z) * n + z * h
Layer k > 0 reads layer k-1's hidden states; the head reads the top layer's h at the last step:
    logits = head.weight @ h + head.bias            (classes long, short, neutral)
    probabilities = softmax(logits)

`to_worker_layout` maps these tensors onto signal-worker's own layer layout (src/model/lstm.rs,
gru.rs, network.rs), and `forward_worker` runs that layout the way those files do; the self-check
proves both give the same logits, so the mapping here is the one the importer must apply.

Run `python python/torch_export/reference.py [fixture_root]`: needs numpy only.
"""

import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

# The importer's acceptance tolerance against PyTorch's float32 probabilities.
TOLERANCE = 1e-6
DTYPES = {"F32": "<f4", "F64": "<f8"}


def read_safetensors(path) -> dict:
    """name -> array. Layout: u64 little-endian header length N, N bytes of JSON
    {name: {dtype, shape, data_offsets: [begin, end]}, optional "__metadata__"}, then the data,
    offsets relative to the end of the header, row-major little-endian."""
    blob = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def lstm_layer(xs, w_ih, w_hh, b_ih, b_hh):
    """xs [steps, inputs] -> hidden states [steps, H], PyTorch's gate order i, f, g, o."""
    hidden = w_hh.shape[1]
    h, c, out = np.zeros(hidden), np.zeros(hidden), []
    for x in xs:
        gates = w_ih @ x + b_ih + w_hh @ h + b_hh
        i, f, g, o = (gates[k * hidden:(k + 1) * hidden] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def gru_layer(xs, w_ih, w_hh, b_ih, b_hh):
    """xs [steps, inputs] -> hidden states [steps, H], PyTorch's gate order r, z, n."""
    hidden = w_hh.shape[1]
    h, out = np.zeros(hidden), []
    for x in xs:
        gi = w_ih @ x + b_ih
        gh = w_hh @ h + b_hh
        r = sigmoid(gi[:hidden] + gh[:hidden])
        z = sigmoid(gi[hidden:2 * hidden] + gh[hidden:2 * hidden])
        n = np.tanh(gi[2 * hidden:] + r * gh[2 * hidden:])
        h = (1.0 - z) * n + z * h
        out.append(h)
    return np.array(out)


def forward(tensors, kind, layers, window):
    """Logits [3] of one scaled window [steps, inputs], from PyTorch-named tensors."""
    layer = {"lstm": lstm_layer, "gru": gru_layer}[kind]
    t = {k: v.astype(np.float64) for k, v in tensors.items()}
    seq = np.asarray(window, dtype=np.float64)
    for k in range(layers):
        seq = layer(seq, t[f"rnn.weight_ih_l{k}"], t[f"rnn.weight_hh_l{k}"],
                    t[f"rnn.bias_ih_l{k}"], t[f"rnn.bias_hh_l{k}"])
    return t["head.weight"] @ seq[-1] + t["head.bias"]


# PyTorch block order -> the worker's: LSTM i,f,g,o -> i,f,o,g (the three sigmoid gates
# contiguous); GRU r,z,n -> z,r,n (update, reset, new).
WORKER_BLOCKS = {"lstm": [0, 1, 3, 2], "gru": [1, 0, 2]}


def _blocks(a, order):
    """Reorder the gate blocks along axis 0 of a [G*H, ...] or [G*H] array."""
    parts = np.split(a, len(order), axis=0)
    return np.concatenate([parts[i] for i in order], axis=0)


def to_worker_layout(tensors, kind, layers):
    """The worker's parameters: weights transposed to [in, G*H] (it computes x @ W), blocks
    reordered; LSTM biases summed into one `bias`, GRU biases kept apart (the reset gate
    multiplies the recurrent one); head weight transposed to [H, 3]."""
    order = WORKER_BLOCKS[kind]
    out = []
    for k in range(layers):
        w_ih, w_hh = tensors[f"rnn.weight_ih_l{k}"], tensors[f"rnn.weight_hh_l{k}"]
        b_ih, b_hh = tensors[f"rnn.bias_ih_l{k}"], tensors[f"rnn.bias_hh_l{k}"]
        layer = {"input_weight": _blocks(w_ih, order).T, "hidden_weight": _blocks(w_hh, order).T}
        if kind == "lstm":
            layer["bias"] = _blocks(b_ih.astype(np.float64) + b_hh, order)
        else:
            layer["input_bias"], layer["hidden_bias"] = _blocks(b_ih, order), _blocks(b_hh, order)
        out.append(layer)
    return out, tensors["head.weight"].T, tensors["head.bias"]


def forward_worker(layers, head_weight, head_bias, window):
    """Logits of one window with the worker's layout, step by step as lstm.rs / gru.rs do."""
    seq = np.asarray(window, dtype=np.float64)
    for p in layers:
        hidden = p["hidden_weight"].shape[0]
        h, c, out = np.zeros(hidden), np.zeros(hidden), []
        for x in seq:
            if "bias" in p:  # LSTM [input | forget | output | candidate]
                gates = x @ p["input_weight"] + p["bias"] + h @ p["hidden_weight"]
                sig = sigmoid(gates[:3 * hidden])
                c = sig[hidden:2 * hidden] * c + sig[:hidden] * np.tanh(gates[3 * hidden:])
                h = sig[2 * hidden:] * np.tanh(c)
            else:  # GRU [update | reset | new]
                xp = x @ p["input_weight"] + p["input_bias"]
                hp = h @ p["hidden_weight"] + p["hidden_bias"]
                gates = sigmoid(xp[:2 * hidden] + hp[:2 * hidden])
                new = np.tanh(xp[2 * hidden:] + gates[hidden:] * hp[2 * hidden:])
                h = new + gates[:hidden] * (h - new)
            out.append(h)
        seq = np.array(out)
    return seq[-1] @ head_weight + head_bias


def check_fixture(directory: Path) -> float:
    """Check one fixture; return the max |numpy - PyTorch| over its probabilities."""
    desc = json.loads((directory / "model.json").read_text())
    expected = json.loads((directory / "expected.json").read_text())
    arch = desc["architecture"]
    kind, layers = arch["kind"], arch["layers"]
    weights = directory / desc["weights"]["file"]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == desc["weights"]["sha256"]
    tensors = read_safetensors(weights)
    assert {n: list(t.shape) for n, t in tensors.items()} == desc["weights"]["tensors"]

    scaled = np.array(expected["scaled"], dtype=np.float32)
    assert scaled.shape[1:] == (arch["sequence_length"], arch["inputs"])

    worker = to_worker_layout(tensors, kind, layers)
    worst = 0.0
    for window, torch_logits, torch_probs in zip(scaled, expected["logits"],
                                                 expected["probabilities"]):
        logits = forward(tensors, kind, layers, window)
        assert np.allclose(forward_worker(*worker, window), logits, rtol=0, atol=1e-12), \
            "worker layout disagrees with PyTorch layout"
        assert np.allclose(logits, torch_logits, rtol=0, atol=1e-5)
        worst = max(worst, float(np.abs(softmax(logits) - np.array(torch_probs)).max()))
    if worst > TOLERANCE:
        raise AssertionError(f"{directory.name}: max |numpy - torch| = {worst:.3e}")
    return worst


def main(argv) -> int:
    root = Path(argv[1]) if len(argv) > 1 else \
        Path(__file__).resolve().parents[2] / "tests" / "data" / "torch"
    fixtures = sorted(p for p in root.iterdir() if (p / "expected.json").exists())
    if not fixtures:
        print(f"no fixtures under {root}")
        return 1
    for directory in fixtures:
        print(f"{directory.name}: max |numpy - torch| probability = {check_fixture(directory):.3e}")
    print(f"reference: {len(fixtures)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
