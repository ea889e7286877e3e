"""A trading engine's side of the signal-worker contract (DESIGN.md, schemas/).

Publishes closed candles, consumes signals through its own durable consumer, reads the
latest signal of a series from Redis and asks for backtests. Every message it receives is
checked against the repository's JSON Schemas before anything trusts it.
"""
