"""`publish`: closed candles from a CSV file to `candles.<exchange>.<symbol>.<interval>`.

The CSV is the repository's recorded format (`timestamp,open,high,low,close,volume`, timestamp
= bar open, Unix ms UTC); the series identity comes from the command line, as for
`signal-worker replay`. Bodies, subject and Nats-Msg-Id are what replay sends, so publishing the
same bars twice (by either tool) stores them once.
"""

import csv
import math
import sys

from . import contract

CSV_HEADER = ["timestamp", "open", "high", "low", "close", "volume"]


def read_candles(path, exchange, symbol, interval, schemas):
    """(candles, rejected): every row as a candle message, in file order; rows the candle
    schema refuses are reported as (line, problems) and left out, since a trading engine
    must not put on the bus what the contract forbids."""
    candles, rejected = [], []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows, [])]
        if header != CSV_HEADER:
            raise ValueError(f"{path}: header is {','.join(header)}, expected {','.join(CSV_HEADER)}")
        for line, row in enumerate(rows, start=2):
            try:
                ts, o, h, lo, c, v = (cell.strip() for cell in row)
                # Field order of the worker's CandleMessage; close_time and trades are
                # optional and left out, exactly as replay leaves them out for CSV input.
                candle = {
                    "exchange": exchange,
                    "symbol": symbol,
                    "interval": interval,
                    "open_time": int(ts),
                    "open": float(o),
                    "high": float(h),
                    "low": float(lo),
                    "close": float(c),
                    "volume": float(v),
                    "is_closed": True,
                }
            except ValueError as e:
                rejected.append((line, [f"unreadable row: {e}"]))
                continue
            # JSON Schema has no notion of NaN or infinity; the worker refuses both (non_finite).
            problems = [
                f"{k} is not finite" for k, x in candle.items() if isinstance(x, float) and not math.isfinite(x)
            ] or schemas.problems(schemas.candle, candle)
            if problems:
                rejected.append((line, problems))
            else:
                candles.append(candle)
    # Replay publishes in timestamp order; so does this (a stable sort keeps file order).
    candles.sort(key=lambda c: c["open_time"])
    return candles, rejected


async def run(js, args, schemas):
    """Publishes every valid row, each acknowledged by JetStream before the next is sent
    (so the stream stores them in order); returns the exit status."""
    candles, rejected = read_candles(args.file, args.exchange, args.symbol, args.interval, schemas)
    for line, problems in rejected:
        print(f"{args.file}:{line} skipped: {'; '.join(problems)}", file=sys.stderr)
    published = duplicates = 0
    for candle in candles:
        subject = contract.series_subject(
            args.prefix, candle["exchange"], candle["symbol"], candle["interval"]
        )
        headers = {
            contract.MSG_ID: contract.candle_msg_id(candle),
            contract.CONTENT_TYPE: contract.MSGPACK,
        }
        ack = await js.publish(subject, contract.encode(candle), headers=headers)
        published += 1
        duplicates += bool(ack.duplicate)
    # Same wording as `signal-worker replay`, so scripts can read either.
    print(
        f"published {published} candles ({duplicates} already stored: duplicate Nats-Msg-Id); "
        f"skipped {len(rejected)} invalid rows"
    )
    return 1 if rejected else 0
