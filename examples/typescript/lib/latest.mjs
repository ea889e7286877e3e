// `latest`: the newest signal of one series, as the worker caches it in Redis.
//
// Key `<prefix>:signal:<exchange>:<symbol>:<interval>`, value the signal as JSON (src/cache/): for
// a consumer that polls instead of subscribing. The cache is a side edge and may lag the SIGNALS
// stream during a Redis outage; the stream is the source of truth.

import { createClient } from "@redis/client";
import { toJsonLine } from "./contract.mjs";

/** Prints the cached signal as one JSON line; exit 1 if there is none or it is invalid. */
export async function latest(opts, schemas) {
  const key = `${opts.keyPrefix}:signal:${opts.exchange}:${opts.symbol}:${opts.interval}`;
  // One attempt, no reconnection loop: a one-shot read either gets an answer or reports why.
  const client = createClient({ url: opts.redisUrl, socket: { connectTimeout: 5_000, reconnectStrategy: false } });
  client.on("error", () => {}); // reported by the awaited command below, not as an unhandled event
  let raw;
  try {
    await client.connect();
    raw = await client.get(key);
  } catch (e) {
    console.error(`error: redis at ${opts.redisUrl}: ${e.message}`);
    return 2;
  } finally {
    if (client.isOpen) await client.close();
  }
  if (raw === null) {
    console.error(`no signal cached under ${key}`);
    return 1;
  }
  let value;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    console.error(`${key} does not hold JSON: ${e.message}`);
    return 1;
  }
  const problems = schemas.signal(value);
  if (problems.length) {
    console.error(`invalid signal under ${key}: ${problems.join("; ")}`);
    return 1;
  }
  console.log(toJsonLine(value));
  return 0;
}
