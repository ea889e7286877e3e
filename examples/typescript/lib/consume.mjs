// `consume`: signals from the SIGNALS stream through this client's own durable pull consumer.
//
// Restart-safe: the consumer is durable and every signal is acknowledged (and the server's
// confirmation awaited) only after its line is written, so a re-run resumes right after the last
// signal a previous run finished. Delivery is at-least-once: a process killed between writing a
// line and its ack sees that signal again; its Nats-Msg-Id (or series + open_time + model sha256)
// identifies it. One process per durable: a run repositions its consumer.

import { appendFileSync } from "node:fs";
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { CONTENT_TYPE, decode, seriesSubject, toJsonLine } from "./contract.mjs";

/** Most signals asked for in one pull. Never more than are still expected: a fetched but
 * unacknowledged signal would only come back after ack_wait, behind the newer ones. */
const BATCH = 100;
/** How long one pull waits for signals (ms; the client's minimum): bounds how late a stop is noticed. */
const PULL_WAIT_MS = 1_000;
/** How long the server waits for an ack before redelivering (ns, as the API takes it). */
const ACK_WAIT_NS = 30_000_000_000;

/** { value, problems }: the decoded body and why it cannot be trusted (empty if it can). */
function check(m, schemas) {
  let value;
  try {
    value = decode(m.data, m.headers?.get(CONTENT_TYPE));
  } catch (e) {
    return { value, problems: [`undecodable body: ${e.message}`] };
  }
  const problems = schemas.signal(value);
  if (!problems.length) {
    const expected = seriesSubject(m.subject.split(".")[0], value.exchange, value.symbol, value.interval);
    if (m.subject !== expected) problems.push(`subject ${m.subject} disagrees with the body (${expected})`);
  }
  return { value, problems };
}

/** The durable consumer, created the first time (from the stream's first signal); on a re-run
 * kept, so delivery resumes after the last acknowledged signal.
 *
 * A run killed mid-batch leaves signals delivered but unacknowledged; the server would redeliver
 * them only after ack_wait, behind newer ones, so a trading engine would see an older signal after
 * a newer one. Then the consumer is recreated right after its ack floor (the last signal acked,
 * since acks go in order), which redelivers them first, at once. */
async function durableConsumer(js, jsm, opts) {
  const config = {
    durable_name: opts.durable,
    filter_subject: opts.subject,
    deliver_policy: DeliverPolicy.All,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ACK_WAIT_NS,
    max_ack_pending: BATCH,
    description: "trading engine signal consumer (examples/typescript)",
  };
  let info;
  try {
    info = await jsm.consumers.info(opts.stream, opts.durable);
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.code === JetStreamApiCodes.ConsumerNotFound)) throw e;
    await jsm.consumers.add(opts.stream, config);
  }
  if (info?.num_ack_pending) {
    await jsm.consumers.delete(opts.stream, opts.durable);
    await jsm.consumers.add(opts.stream, {
      ...config,
      filter_subject: info.config.filter_subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.ack_floor.stream_seq + 1,
    });
    console.error(`resuming ${opts.durable} after signal ${info.ack_floor.stream_seq}`);
  }
  return js.consumers.get(opts.stream, opts.durable);
}

/** Consumes until `--expect` signals arrived in this run (or forever without it), `--timeout`
 * passed, or SIGINT/SIGTERM; returns the exit status. */
export async function consume(js, jsm, opts, schemas) {
  const consumer = await durableConsumer(js, jsm, opts);
  let stop = false;
  for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => (stop = true));
  const deadline = opts.timeout ? Date.now() + opts.timeout * 1000 : Infinity;
  // Appends: a re-run adds what it consumed after what earlier runs wrote.
  const write = opts.out ? (line) => appendFileSync(opts.out, line) : (line) => process.stdout.write(line);
  let received = 0;
  let invalid = 0;
  while (!stop && (opts.expect === undefined || received < opts.expect) && Date.now() < deadline) {
    const want = opts.expect === undefined ? BATCH : Math.min(BATCH, opts.expect - received);
    const messages = await consumer.fetch({ max_messages: want, expires: PULL_WAIT_MS });
    for await (const m of messages) {
      const { value, problems } = check(m, schemas);
      if (problems.length) {
        // Never trade on it, never see it again: terminate, report, go on.
        invalid += 1;
        console.error(`invalid signal on ${m.subject}: ${problems.join("; ")}`);
        m.term();
        continue;
      }
      write(toJsonLine(value) + "\n");
      await m.ackAck();
      received += 1;
    }
  }
  console.error(`consumed ${received} signals with durable ${opts.durable}; ${invalid} invalid`);
  return invalid || (opts.expect !== undefined && received < opts.expect) ? 1 : 0;
}
