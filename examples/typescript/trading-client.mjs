#!/usr/bin/env node
// Command line: `node trading-client.mjs SUBCOMMAND ...` (run from examples/typescript).
// Exit status: 0 success, 1 findings (invalid or missing data, an unexpected answer, fewer signals
// than expected), 2 usage or connection errors.

import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { DEFAULT_SCHEMAS, loadSchemas } from "./lib/contract.mjs";
import { publish } from "./lib/publish.mjs";
import { consume } from "./lib/consume.mjs";
import { latest } from "./lib/latest.mjs";
import { backtest } from "./lib/backtest.mjs";

const USAGE = `usage: node trading-client.mjs COMMAND [options]
  publish FILE.csv --exchange E --symbol S --interval I [--prefix candles]
  consume --durable NAME [--expect N] [--out FILE.jsonl] [--timeout S] [--stream SIGNALS] [--subject 'signals.>']
  latest --exchange E --symbol S --interval I [--key-prefix signal-worker]
  backtest [--request-id ID] [--exchange E --symbol S --interval I --start MS --end MS --model M] [--live] [--timeout S]
common: --nats-url URL (nats://127.0.0.1:4222)  --redis-url URL (redis://127.0.0.1:6379)  --schemas DIR`;

const OPTIONS = {
  "nats-url": { type: "string", default: "nats://127.0.0.1:4222" },
  "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
  schemas: { type: "string", default: DEFAULT_SCHEMAS },
  exchange: { type: "string" },
  symbol: { type: "string" },
  interval: { type: "string" },
  prefix: { type: "string", default: "candles" },
  durable: { type: "string" },
  expect: { type: "string" },
  out: { type: "string" },
  timeout: { type: "string" },
  stream: { type: "string", default: "SIGNALS" },
  subject: { type: "string" },
  "key-prefix": { type: "string", default: "signal-worker" },
  "request-id": { type: "string" },
  start: { type: "string" },
  end: { type: "string" },
  model: { type: "string" },
  live: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
};

class UsageError extends Error {}

/** A whole number option, or undefined when absent. */
function integer(values, name) {
  if (values[name] === undefined) return undefined;
  if (!/^-?\d+$/.test(values[name])) throw new UsageError(`--${name} must be an integer`);
  return Number(values[name]);
}

function required(values, names) {
  for (const n of names) if (values[n] === undefined) throw new UsageError(`--${n} is required`);
}

/** Connection attempts per outage, one a second: the first connection fails fast, and a server
 * restart of a few seconds is ridden out. Past that the command fails (exit 2); re-running
 * `consume` resumes where it stopped. */
const CONNECT_ATTEMPTS = 5;

async function withNats(url, command, run) {
  let nc;
  try {
    nc = await connect({
      servers: url,
      name: `trading-client-${command}`,
      timeout: 5_000,
      maxReconnectAttempts: CONNECT_ATTEMPTS,
      reconnectTimeWait: 1_000,
    });
  } catch (e) {
    console.error(`error: cannot connect to ${url}: ${e.message}`);
    return 2;
  }
  try {
    return await run(nc);
  } finally {
    // drain: pending acks and publishes reach the server before the process exits.
    await nc.drain();
  }
}

async function main(argv) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const schemas = loadSchemas(values.schemas);
  const series = { exchange: values.exchange, symbol: values.symbol, interval: values.interval };
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError("--timeout must be a positive number of seconds");
  switch (command) {
    case "publish":
      required(values, ["exchange", "symbol", "interval"]);
      if (rest.length !== 1) throw new UsageError("publish takes one CSV file");
      return withNats(values["nats-url"], command, (nc) =>
        publish(jetstream(nc), { ...series, file: rest[0], prefix: values.prefix }, schemas),
      );
    case "consume":
      required(values, ["durable"]);
      return withNats(values["nats-url"], command, async (nc) =>
        consume(
          jetstream(nc),
          await jetstreamManager(nc),
          {
            durable: values.durable,
            expect: integer(values, "expect"),
            out: values.out,
            timeout,
            stream: values.stream,
            subject: values.subject ?? "signals.>",
          },
          schemas,
        ),
      );
    case "latest":
      required(values, ["exchange", "symbol", "interval"]);
      return latest({ ...series, redisUrl: values["redis-url"], keyPrefix: values["key-prefix"] }, schemas);
    case "backtest":
      return withNats(values["nats-url"], command, (nc) =>
        backtest(
          nc,
          {
            ...series,
            requestId: values["request-id"],
            start: integer(values, "start"),
            end: integer(values, "end"),
            model: values.model,
            live: values.live,
            timeout: timeout ?? 30,
            subject: values.subject ?? "backtest.requests",
          },
          schemas,
        ),
      );
    default:
      throw new UsageError(`unknown command ${command}\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`error: ${e.message}`);
  process.exitCode = 2;
}
