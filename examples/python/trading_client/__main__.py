"""Command line: `python -m trading_client SUBCOMMAND ...` (run from examples/python).

Exit status: 0 success, 1 findings (invalid or missing data, an unexpected answer, fewer
signals than expected), 2 usage or connection errors.
"""

import argparse
import asyncio
import sys

import nats

from . import backtest, consume, latest, publish
from .contract import DEFAULT_SCHEMAS, Schemas


def parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    common.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    common.add_argument("--schemas", default=str(DEFAULT_SCHEMAS), help="directory of the JSON Schemas")
    series = argparse.ArgumentParser(add_help=False)
    series.add_argument("--exchange", required=True)
    series.add_argument("--symbol", required=True)
    series.add_argument("--interval", required=True)

    p = argparse.ArgumentParser(prog="trading_client", description="A trading engine's client of signal-worker.")
    sub = p.add_subparsers(dest="command", required=True)

    pub = sub.add_parser("publish", parents=[common, series], help="publish closed candles from a CSV file")
    pub.add_argument("file", help="CSV timestamp,open,high,low,close,volume (data/btcusd-1h.csv)")
    pub.add_argument("--prefix", default="candles", help="candle subject prefix")

    con = sub.add_parser("consume", parents=[common], help="consume signals with a durable consumer")
    con.add_argument("--durable", required=True, help="this client's durable consumer name")
    con.add_argument("--expect", type=int, help="stop after this many signals (default: run until stopped)")
    con.add_argument("--out", help="append each signal as a JSON line here (default: stdout)")
    con.add_argument("--timeout", type=float, help="give up after this many seconds")
    con.add_argument("--stream", default="SIGNALS")
    con.add_argument("--subject", default="signals.>", help="filter of the consumer when it is created")

    lat = sub.add_parser("latest", parents=[common, series], help="the latest signal of a series (Redis)")
    lat.add_argument("--key-prefix", default="signal-worker", help="the worker's redis.key_prefix")

    bt = sub.add_parser("backtest", parents=[common], help="ask for a backtest (answered not_implemented)")
    bt.add_argument("--request-id")
    bt.add_argument("--exchange")
    bt.add_argument("--symbol")
    bt.add_argument("--interval")
    bt.add_argument("--start", type=int, help="first bar open time, Unix ms")
    bt.add_argument("--end", type=int, help="last bar open time, Unix ms")
    bt.add_argument("--model")
    bt.add_argument("--live", action="store_true", help="plain NATS request instead of a persisted one")
    bt.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")
    bt.add_argument("--subject", default="backtest.requests")
    return p


#: Connection attempts per outage, one a second: the first connection fails fast instead of
#: retrying for minutes, and a server restart of a few seconds is ridden out. Past that the
#: command fails (exit 2); re-running `consume` resumes where it stopped.
CONNECT_ATTEMPTS = 5


async def report(error):
    """One line per connection problem instead of nats-py's traceback per attempt."""
    print(f"nats: {error!r}", file=sys.stderr)


async def with_nats(args, schemas):
    try:
        nc = await nats.connect(
            args.nats_url,
            name=f"trading-client-{args.command}",
            connect_timeout=5,
            max_reconnect_attempts=CONNECT_ATTEMPTS,
            reconnect_time_wait=1,
            error_cb=report,
        )
    except Exception as e:  # nats-py raises several unrelated types for "cannot connect"
        print(f"error: cannot connect to {args.nats_url}: {e}", file=sys.stderr)
        return 2
    try:
        if args.command == "publish":
            return await publish.run(nc.jetstream(), args, schemas)
        if args.command == "consume":
            return await consume.run(nc.jetstream(), args, schemas)
        return await backtest.run(nc, args, schemas)
    finally:
        # drain: pending acks and publishes reach the server before the process exits.
        await nc.drain()


def main(argv=None):
    args = parser().parse_args(argv)
    schemas = Schemas(args.schemas)
    try:
        if args.command == "latest":
            return latest.run(args, schemas)
        return asyncio.run(with_nats(args, schemas))
    except (OSError, ValueError, nats.errors.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
