// The wire contract: subjects, message ids, encodings and the JSON Schemas (DESIGN.md, schemas/).
// Kept in one place so publish, consume, latest and backtest cannot disagree on it.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import Ajv2020 from "ajv/dist/2020.js";

/** schemas/ of the repository this example lives in (examples/typescript/lib/../../..). */
export const DEFAULT_SCHEMAS = fileURLToPath(new URL("../../../schemas/", import.meta.url));

// Header names the worker reads and writes (src/bus/headers.rs).
export const MSG_ID = "Nats-Msg-Id";
export const CONTENT_TYPE = "Content-Type";
export const REPLY_TO = "Reply-To";
export const MSGPACK = "application/msgpack";
export const JSON_TYPE = "application/json";

/** `<prefix>.<exchange>.<symbol>.<interval>` (src/contract/subject.rs). */
export function seriesSubject(prefix, exchange, symbol, interval) {
  return `${prefix}.${exchange}.${symbol}.${interval}`;
}

/** `<exchange>:<symbol>:<interval>:<open_time>`, exactly what `signal-worker replay` sends, so a
 * candle published by this client, the Python one and replay is stored once. */
export function candleMsgId(c) {
  return `${c.exchange}:${c.symbol}:${c.interval}:${c.open_time}`;
}

/** Candle fields the worker declares f64. JavaScript has one number type, and msgpack encodes an
 * integral number (a price of 7000) as an integer; forcing these to float64 gives the very bytes
 * rmp-serde (replay) and the Python client write. */
const FLOAT_FIELDS = new Set(["open", "high", "low", "close", "volume"]);

/** A candle as MessagePack with named fields, in its own key order. */
export function encodeCandle(candle) {
  const entries = Object.entries(candle);
  if (entries.length > 15) throw new Error("a candle has at most 15 fields"); // fixmap below
  const parts = [Uint8Array.of(0x80 | entries.length)];
  for (const [key, value] of entries) {
    parts.push(msgpackEncode(key));
    parts.push(msgpackEncode(value, { forceIntegerToFloat: FLOAT_FIELDS.has(key) }));
  }
  return Buffer.concat(parts);
}

/** Any other value (a backtest request) as MessagePack with named fields. */
export const encode = (value) => msgpackEncode(value);

/** A body in the encoding its Content-Type names (MessagePack when absent, the default). */
export function decode(data, contentType) {
  if (contentType && contentType.trim().toLowerCase().startsWith(JSON_TYPE)) {
    return JSON.parse(new TextDecoder().decode(data));
  }
  return msgpackDecode(data);
}

/** One compact JSON line; JavaScript prints the shortest text that reads back as the same f64. */
export const toJsonLine = (value) => JSON.stringify(value);

/** The four JSON Schemas, compiled once (draft 2020-12). Each validator returns the list of
 * problems of a value, empty when it is valid. */
export function loadSchemas(dir = DEFAULT_SCHEMAS) {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const compile = (name) => {
    const validate = ajv.compile(JSON.parse(readFileSync(`${dir}/${name}.schema.json`, "utf8")));
    return (value) =>
      validate(value) ? [] : validate.errors.map((e) => `${e.instancePath || "(root)"}: ${e.message}`);
  };
  return {
    candle: compile("candle"),
    signal: compile("signal"),
    errorReply: compile("error-reply"),
    backtestRequest: compile("backtest-request"),
  };
}
