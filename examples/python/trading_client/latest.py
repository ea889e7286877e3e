"""`latest`: the newest signal of one series, as the worker caches it in Redis.

Key `<prefix>:signal:<exchange>:<symbol>:<interval>`, value the signal as JSON (src/cache/):
for a consumer that polls instead of subscribing. The cache is a side edge and may lag the
SIGNALS stream during a Redis outage; the stream is the source of truth.
"""

import json
import sys

import redis

from . import contract


def run(args, schemas):
    """Prints the cached signal as one JSON line; exit 1 if there is none or it is invalid."""
    key = f"{args.key_prefix}:signal:{args.exchange}:{args.symbol}:{args.interval}"
    client = redis.Redis.from_url(args.redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        raw = client.get(key)
    except redis.RedisError as e:
        print(f"error: redis at {args.redis_url}: {e}", file=sys.stderr)
        return 2
    finally:
        client.close()
    if raw is None:
        print(f"no signal cached under {key}", file=sys.stderr)
        return 1
    try:
        value = json.loads(raw)
    except ValueError as e:
        print(f"{key} does not hold JSON: {e}", file=sys.stderr)
        return 1
    problems = contract.Schemas.problems(schemas.signal, value)
    if problems:
        print(f"invalid signal under {key}: {'; '.join(problems)}", file=sys.stderr)
        return 1
    print(contract.to_json_line(value))
    return 0
