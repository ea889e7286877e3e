// `backtest`: ask for a backtest and handle the answer, which is always an ErrorReply.
//
// Backtesting is not implemented: the worker answers every request with exactly one ErrorReply,
// code `not_implemented` (status 501), and a warning never to trade on simulated results. It never
// sends made-up numbers, and this client treats anything else as a contract breach.
//
// Two ways to ask (src/bus/backtest.rs):
// - persisted (default): a plain publish with a `Reply-To` header. The BACKTEST stream stores it,
//   so it is answered as soon as a worker runs, even one started after the request.
// - `--live`: a NATS request; answered only by a worker running at that moment.

import { randomUUID } from "node:crypto";
import { createInbox, headers as natsHeaders } from "@nats-io/transport-node";
import { CONTENT_TYPE, MSGPACK, REPLY_TO, decode, encode, toJsonLine } from "./contract.mjs";

/** The request, with only the fields given (the schema forbids nulls). */
function requestBody(opts) {
  const request = { request_id: opts.requestId ?? randomUUID() };
  for (const field of ["exchange", "symbol", "interval", "start", "end", "model"]) {
    if (opts[field] !== undefined) request[field] = opts[field];
  }
  return request;
}

/** The reply message to one request, by either path; null when none came in time. */
async function ask(nc, subject, body, live, timeoutMs) {
  const h = natsHeaders();
  h.set(CONTENT_TYPE, MSGPACK);
  if (live) {
    try {
      return await nc.request(subject, body, { timeout: timeoutMs, headers: h });
    } catch (e) {
      if (e.name === "TimeoutError" || e.name === "NoRespondersError") return null;
      throw e;
    }
  }
  const inbox = createInbox();
  // Subscribed before publishing, so an answer cannot come before anyone listens.
  const sub = nc.subscribe(inbox, { max: 1, timeout: timeoutMs });
  h.set(REPLY_TO, inbox);
  // A core publish: the stream is no_ack (no PubAck), so a JetStream publish would never be
  // acknowledged. The flush makes sure the server has it before we wait.
  nc.publish(subject, body, { headers: h });
  await nc.flush();
  try {
    for await (const m of sub) return m;
  } catch (e) {
    if (e.name === "TimeoutError") return null;
    throw e;
  }
  return null;
}

/** Prints the ErrorReply as one JSON line; exit 0 when it is the expected not_implemented answer
 * to our request, 1 for any other answer or none. */
export async function backtest(nc, opts, schemas) {
  const request = requestBody(opts);
  const invalid = schemas.backtestRequest(request);
  if (invalid.length) {
    console.error(`invalid backtest request: ${invalid.join("; ")}`);
    return 2;
  }
  const m = await ask(nc, opts.subject, encode(request), opts.live, opts.timeout * 1000);
  if (m === null) {
    console.error(`no answer within ${opts.timeout} s (is a worker running?)`);
    return 1;
  }
  let reply;
  try {
    reply = decode(m.data, m.headers?.get(CONTENT_TYPE));
  } catch (e) {
    console.error(`undecodable answer: ${e.message}`);
    return 1;
  }
  const problems = schemas.errorReply(reply);
  if (problems.length) {
    console.error(`answer is not an ErrorReply: ${problems.join("; ")}`);
    return 1;
  }
  console.log(toJsonLine(reply));
  if (reply.error.code !== "not_implemented" || reply.request_id !== request.request_id) {
    console.error(`unexpected answer: ${reply.error.code} for request ${reply.request_id}`);
    return 1;
  }
  console.error(`backtest not available (${reply.error.status}): ${reply.error.message}`);
  return 0;
}
