"""Make the committed importer fixtures under tests/data/torch/<name>/ (needs torch).

Four small seeded models (LSTM and GRU, 1 and 2 layers, 33 inputs, hidden 8, window 16) are
exported with export.py; beside each, expected.json holds fixed input windows and PyTorch's own
float32 eval-mode outputs for them, so the Rust importer is tested against PyTorch without CI
ever installing torch. Re-running gives identical files with the same torch build.

    python python/torch_export/make_fixtures.py [output_root]
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from export import export, f32, read_back
from model import RecurrentClassifier

REPO = Path(__file__).resolve().parents[2]
HIDDEN, STEPS, WINDOWS = 8, 16, 5
# Input spread per window, in training standard deviations: the last ones saturate gates.
SPREAD = [0.5, 1.0, 1.0, 2.0, 4.0]
# name, kind, layers, dropout (weightless, off in eval: must export as nothing), seed, labels.
MODELS = [
    ("lstm_1", "lstm", 1, 0.0, 1, {"kind": "fixed"}),
    ("lstm_2", "lstm", 2, 0.2, 2, {"kind": "fixed", "horizon": 4, "long_threshold": 0.004,
                                   "short_threshold": -0.003}),
    ("gru_1", "gru", 1, 0.0, 3, {"kind": "volatility", "horizon": 6, "volatility_k": 0.5,
                                 "volatility_window": 100}),
    ("gru_2", "gru", 2, 0.2, 4, {"kind": "volatility", "horizon": 12, "volatility_k": 1.0,
                                 "volatility_window": 50}),
]


def rows(array) -> str:
    """A nested list as JSON with one innermost row per line (readable diffs, small files)."""
    if np.ndim(array) == 1:
        return json.dumps(list(array))
    inner = ",\n".join(rows(a) for a in array)
    return "[\n" + inner + "\n]"


def exact(values) -> list:
    """float32 values as the float64 numbers they are exactly (full precision)."""
    return [[float(v) for v in row] for row in np.asarray(values, dtype=np.float32)]


def make(root: Path, name, kind, layers, dropout, seed, labels, features, mean, std) -> None:
    torch.manual_seed(seed)  # PyTorch's default init, seeded
    model = RecurrentClassifier(kind, len(features), HIDDEN, layers, dropout).eval()
    out = root / name
    export(model, out, feature_names=features, scaler_mean=mean, scaler_std=std,
           labels=labels, sequence_length=STEPS,
           source=f"python/torch_export/make_fixtures.py (seed {seed}, default init)")

    # Already-scaled inputs (what the network reads after the worker's scaler), in float32.
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((WINDOWS, STEPS, len(features))) * np.array(SPREAD)[:, None, None]
    scaled = z.astype(np.float32)

    with torch.no_grad():
        logits = model(torch.from_numpy(scaled))
        probabilities = torch.softmax(logits, dim=1)
        # The written file, loaded into a fresh module, computes the same (names and layout).
        fresh = RecurrentClassifier(kind, len(features), HIDDEN, layers, dropout).eval()
        fresh.load_state_dict(read_back(out), strict=True)
        assert torch.equal(fresh(torch.from_numpy(scaled)), logits)

    shortest = np.vectorize(f32)
    parts = [
        f'"model": {json.dumps(name)}',
        '"note": "scaled: float32 inputs [windows, steps, features], already scaled (the '
        'network reads them as they are); logits and probabilities: PyTorch float32 eval-mode '
        'outputs for them, written exactly, classes long, short, neutral"',
        f'"windows": {WINDOWS}', f'"sequence_length": {STEPS}', f'"inputs": {len(features)}',
        f'"scaled": {rows(shortest(scaled))}',
        f'"logits": {rows(exact(logits.numpy()))}',
        f'"probabilities": {rows(exact(probabilities.numpy()))}',
    ]
    (out / "expected.json").write_text("{\n" + ",\n".join(parts) + "\n}\n")
    print(f"{name}: {', '.join(f'{p.name} {p.stat().st_size} B' for p in sorted(out.iterdir()))}")


def main(argv) -> None:
    root = Path(argv[1]) if len(argv) > 1 else REPO / "tests" / "data" / "torch"
    # The worker's 33 feature names and a real fitted scaler, from the bundled model.
    default = json.loads((REPO / "models" / "default" / "model.json").read_text())
    features, scaler = default["feature_names"], default["scaler"]
    for name, kind, layers, dropout, seed, labels in MODELS:
        make(root, name, kind, layers, dropout, seed, labels, features, scaler["mean"],
             scaler["std"])


if __name__ == "__main__":
    main(sys.argv)
