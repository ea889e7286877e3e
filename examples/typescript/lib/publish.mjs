// `publish`: closed candles from a CSV file to `candles.<exchange>.<symbol>.<interval>`.
//
// The CSV is the repository's recorded format (`timestamp,open,high,low,close,volume`, timestamp =
// bar open, Unix ms UTC); the series identity comes from the command line, as for
// `signal-worker replay`. Bodies, subject and Nats-Msg-Id are what replay sends, so publishing the
// same bars twice (by any of the three tools) stores them once.

import { readFileSync } from "node:fs";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { CONTENT_TYPE, MSGPACK, candleMsgId, encodeCandle, seriesSubject } from "./contract.mjs";

const CSV_HEADER = "timestamp,open,high,low,close,volume";

/** A finite number from a cell, or an error naming the field (`Number("")` would be 0). */
function number(name, text) {
  const x = Number(text);
  if (text === "" || !Number.isFinite(x)) throw new Error(`${name} ${JSON.stringify(text)} is not a finite number`);
  return x;
}

/** { candles, rejected }: every row as a candle message in timestamp order; rows the candle
 * schema refuses are reported as { line, problems } and left out, since a trading engine must
 * not put on the bus what the contract forbids. */
export function readCandles(path, { exchange, symbol, interval }, schemas) {
  const lines = readFileSync(path, "utf8").split("\n").map((l) => l.replace(/\r$/, ""));
  const header = lines[0].split(",").map((h) => h.trim()).join(",");
  if (header !== CSV_HEADER) throw new Error(`${path}: header is ${header}, expected ${CSV_HEADER}`);
  const candles = [];
  const rejected = [];
  lines.slice(1).forEach((row, i) => {
    const line = i + 2;
    if (row.trim() === "") return;
    try {
      const cells = row.split(",").map((c) => c.trim());
      if (cells.length !== 6) throw new Error(`expected 6 fields, found ${cells.length}`);
      if (!/^-?\d+$/.test(cells[0]) || !Number.isSafeInteger(Number(cells[0]))) {
        throw new Error(`timestamp ${JSON.stringify(cells[0])} is not integer milliseconds`);
      }
      // Field order of the worker's CandleMessage; close_time and trades are optional and left
      // out, exactly as replay leaves them out for CSV input.
      const candle = {
        exchange,
        symbol,
        interval,
        open_time: Number(cells[0]),
        open: number("open", cells[1]),
        high: number("high", cells[2]),
        low: number("low", cells[3]),
        close: number("close", cells[4]),
        volume: number("volume", cells[5]),
        is_closed: true,
      };
      const problems = schemas.candle(candle);
      if (problems.length) rejected.push({ line, problems });
      else candles.push(candle);
    } catch (e) {
      rejected.push({ line, problems: [`unreadable row: ${e.message}`] });
    }
  });
  // Replay publishes in timestamp order; so does this (Array.sort is stable: file order kept).
  candles.sort((a, b) => a.open_time - b.open_time);
  return { candles, rejected };
}

/** Publishes every valid row, each acknowledged by JetStream before the next is sent (so the
 * stream stores them in order); returns the exit status. */
export async function publish(js, opts, schemas) {
  const { candles, rejected } = readCandles(opts.file, opts, schemas);
  for (const { line, problems } of rejected) console.error(`${opts.file}:${line} skipped: ${problems.join("; ")}`);
  let published = 0;
  let duplicates = 0;
  for (const candle of candles) {
    const h = natsHeaders();
    h.set(CONTENT_TYPE, MSGPACK);
    const subject = seriesSubject(opts.prefix, candle.exchange, candle.symbol, candle.interval);
    const ack = await js.publish(subject, encodeCandle(candle), { msgID: candleMsgId(candle), headers: h });
    published += 1;
    if (ack.duplicate) duplicates += 1;
  }
  // Same wording as `signal-worker replay`, so scripts can read either.
  console.log(
    `published ${published} candles (${duplicates} already stored: duplicate Nats-Msg-Id); skipped ${rejected.length} invalid rows`,
  );
  return rejected.length ? 1 : 0;
}
