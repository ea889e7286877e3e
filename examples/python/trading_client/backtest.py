"""`backtest`: ask for a backtest and handle the answer, which is always an ErrorReply.

Backtesting is not implemented: the worker answers every request with exactly one ErrorReply,
code `not_implemented` (status 501), and a warning never to trade on simulated results. It
never sends made-up numbers, and this client treats anything else as a contract breach.

Two ways to ask (src/bus/backtest.rs):
- persisted (default): a plain publish with a `Reply-To` header. The BACKTEST stream stores
  it, so it is answered as soon as a worker runs, even one started after the request.
- `--live`: a NATS request; answered only by a worker running at that moment.
"""

import sys
import uuid

import nats.errors

from . import contract


def request_body(args):
    """The request, with only the fields given (the schema forbids nulls)."""
    request = {"request_id": args.request_id or str(uuid.uuid4())}
    for field in ("exchange", "symbol", "interval", "start", "end", "model"):
        if getattr(args, field) is not None:
            request[field] = getattr(args, field)
    return request


async def ask(nc, subject, body, live, timeout):
    """The reply message to one request, by either path."""
    headers = {contract.CONTENT_TYPE: contract.MSGPACK}
    if live:
        return await nc.request(subject, body, timeout=timeout, headers=headers)
    inbox = nc.new_inbox()
    # Subscribed before publishing, so an answer cannot come before anyone listens.
    sub = await nc.subscribe(inbox, max_msgs=1)
    headers[contract.REPLY_TO] = inbox
    # A core publish: the stream is no_ack (no PubAck), so a JetStream publish would never
    # be acknowledged. The flush makes sure the server has it before we wait.
    await nc.publish(subject, body, headers=headers)
    await nc.flush()
    try:
        return await sub.next_msg(timeout=timeout)
    finally:
        await sub.unsubscribe()


async def run(nc, args, schemas):
    """Prints the ErrorReply as one JSON line; exit 0 when it is the expected
    not_implemented answer to our request, 1 for any other answer or none."""
    request = request_body(args)
    problems = contract.Schemas.problems(schemas.backtest_request, request)
    if problems:
        print(f"invalid backtest request: {'; '.join(problems)}", file=sys.stderr)
        return 2
    try:
        msg = await ask(nc, args.subject, contract.encode(request), args.live, args.timeout)
    except nats.errors.TimeoutError:
        print(f"no answer within {args.timeout} s (is a worker running?)", file=sys.stderr)
        return 1
    try:
        reply = contract.decode(msg.data, (msg.headers or {}).get(contract.CONTENT_TYPE))
    except Exception as e:  # an undecodable answer is a contract breach like any other
        print(f"undecodable answer: {e}", file=sys.stderr)
        return 1
    problems = contract.Schemas.problems(schemas.error_reply, reply)
    if problems:
        print(f"answer is not an ErrorReply: {'; '.join(problems)}", file=sys.stderr)
        return 1
    print(contract.to_json_line(reply))
    error = reply["error"]
    if error["code"] != "not_implemented" or reply["request_id"] != request["request_id"]:
        print(f"unexpected answer: {error['code']} for request {reply['request_id']}", file=sys.stderr)
        return 1
    print(f"backtest not available ({error['status']}): {error['message']}", file=sys.stderr)
    return 0
