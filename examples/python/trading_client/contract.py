"""The wire contract: subjects, message ids, encodings and the JSON Schemas.

Kept in one place so publish, consume, latest and backtest cannot disagree on it.
"""

import json
from pathlib import Path

import jsonschema
import msgpack

#: schemas/ of the repository this example lives in (examples/python/trading_client/..).
DEFAULT_SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"

#: Header names the worker reads and writes (src/bus/headers.rs).
MSG_ID = "Nats-Msg-Id"
CONTENT_TYPE = "Content-Type"
REPLY_TO = "Reply-To"
MSGPACK = "application/msgpack"
JSON = "application/json"


def series_subject(prefix, exchange, symbol, interval):
    """`<prefix>.<exchange>.<symbol>.<interval>` (src/contract/subject.rs)."""
    return f"{prefix}.{exchange}.{symbol}.{interval}"


def candle_msg_id(candle):
    """`<exchange>:<symbol>:<interval>:<open_time>`, exactly what `signal-worker replay` sends,
    so a candle published by this client and by replay is stored once."""
    return f"{candle['exchange']}:{candle['symbol']}:{candle['interval']}:{candle['open_time']}"


def encode(value):
    """MessagePack with named fields, as rmp-serde's `to_vec_named` writes it."""
    return msgpack.packb(value, use_bin_type=True)


def decode(body, content_type):
    """A body in the encoding its Content-Type names (MessagePack when absent, the default)."""
    if content_type and content_type.strip().lower().startswith(JSON):
        return json.loads(body)
    return msgpack.unpackb(body, raw=False)


def to_json_line(value):
    """One compact JSON line; Python's float repr round-trips every f64 exactly."""
    return json.dumps(value, separators=(",", ":"))


class Schemas:
    """The four JSON Schemas, compiled once (draft 2020-12)."""

    def __init__(self, directory=DEFAULT_SCHEMAS):
        directory = Path(directory)

        def load(name):
            schema = json.loads((directory / f"{name}.schema.json").read_text())
            jsonschema.Draft202012Validator.check_schema(schema)
            return jsonschema.Draft202012Validator(schema)

        self.candle = load("candle")
        self.signal = load("signal")
        self.error_reply = load("error-reply")
        self.backtest_request = load("backtest-request")

    @staticmethod
    def problems(validator, value):
        """Every schema violation of `value`, as `path: message` strings (empty when valid)."""
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(value)
        ]
