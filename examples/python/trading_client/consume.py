"""`consume`: signals from the SIGNALS stream through this client's own durable pull consumer.

Restart-safe: the consumer is durable and every signal is acknowledged (and the server's
confirmation awaited) only after its line is written, so a re-run resumes right after the last
signal a previous run finished. Delivery is at-least-once: a process killed between writing a
line and its ack sees that signal again; the signal's Nats-Msg-Id (or series + open_time +
model sha256) identifies it. One process per durable: a run repositions its consumer.
"""

import asyncio
import contextlib
import signal
import sys
import time

import nats.errors
import nats.js.errors
from nats.js import api

from . import contract

#: Most signals asked for in one pull. Never more than are still expected: a fetched but
#: unacknowledged signal would only come back after ack_wait, behind the newer ones.
BATCH = 100
#: How long one pull waits for a signal (s): bounds how late a stop request is noticed.
PULL_WAIT = 1.0
#: How long the server waits for an ack before redelivering (s).
ACK_WAIT = 30
#: How long to wait for the server to confirm an ack (s); generous for a busy machine.
ACK_CONFIRM = 5


def problems_of(msg, schemas):
    """(signal, problems): the decoded body and why it cannot be trusted (empty if it can)."""
    headers = msg.headers or {}
    try:
        value = contract.decode(msg.data, headers.get(contract.CONTENT_TYPE))
    except Exception as e:  # any decoding failure makes the message untrustworthy
        return None, [f"undecodable body: {e}"]
    problems = contract.Schemas.problems(schemas.signal, value)
    if not problems:
        expected = contract.series_subject(
            msg.subject.split(".", 1)[0], value["exchange"], value["symbol"], value["interval"]
        )
        if msg.subject != expected:
            problems.append(f"subject {msg.subject} disagrees with the body ({expected})")
    return value, problems


async def ensure_durable(js, args):
    """Creates the durable consumer the first time (from the stream's first signal); on a
    re-run keeps it, so delivery resumes after the last acknowledged signal.

    A run killed mid-batch leaves signals delivered but unacknowledged; the server would
    redeliver them only after ack_wait, behind newer ones, so a trading engine would see an
    older signal after a newer one. Then the consumer is recreated right after its ack floor
    (the last signal acked, since acks go in order), which redelivers them first, at once."""
    config = api.ConsumerConfig(
        durable_name=args.durable,
        filter_subject=args.subject,
        deliver_policy=api.DeliverPolicy.ALL,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT,
        max_ack_pending=BATCH,
        description="trading engine signal consumer (examples/python)",
    )
    try:
        info = await js.consumer_info(args.stream, args.durable)
    except nats.js.errors.NotFoundError:
        await js.add_consumer(args.stream, config)
        return
    if info.num_ack_pending:
        config.filter_subject = info.config.filter_subject
        config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = info.ack_floor.stream_seq + 1
        await js.delete_consumer(args.stream, args.durable)
        await js.add_consumer(args.stream, config)
        print(f"resuming {args.durable} after signal {info.ack_floor.stream_seq}", file=sys.stderr)


async def run(js, args, schemas):
    """Consumes until `--expect` signals arrived in this run (or forever without it),
    `--timeout` passed, or SIGINT/SIGTERM; returns the exit status."""
    await ensure_durable(js, args)
    sub = await js.pull_subscribe_bind(durable=args.durable, stream=args.stream)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    received = invalid = 0
    # Appends: a re-run adds what it consumed after what earlier runs wrote.
    sink = open(args.out, "a", encoding="utf-8") if args.out else contextlib.nullcontext(sys.stdout)
    with sink as out:
        while not stop.is_set() and (args.expect is None or received < args.expect):
            if deadline is not None and time.monotonic() >= deadline:
                break
            want = BATCH if args.expect is None else min(BATCH, args.expect - received)
            try:
                messages = await sub.fetch(batch=want, timeout=PULL_WAIT)
            except nats.errors.TimeoutError:
                continue
            for msg in messages:
                value, problems = problems_of(msg, schemas)
                if problems:
                    # Never trade on it, never see it again: terminate, report, go on.
                    invalid += 1
                    print(f"invalid signal on {msg.subject}: {'; '.join(problems)}", file=sys.stderr)
                    await msg.term()
                    continue
                out.write(contract.to_json_line(value) + "\n")
                out.flush()
                await msg.ack_sync(timeout=ACK_CONFIRM)
                received += 1
    await sub.unsubscribe()
    print(f"consumed {received} signals with durable {args.durable}; {invalid} invalid", file=sys.stderr)
    if invalid or (args.expect is not None and received < args.expect):
        return 1
    return 0
