/**
 * Task ids: UUIDv7 (RFC 9562), strictly increasing within this process so
 * they sort by creation and serve as list cursors.
 *
 * Written here rather than taken from a package because it is on every
 * submit's path: the `uuid` package's v7 costs about four times as much.
 *
 * @module
 */

let lastMs = 0;
let counter = 0;
let prefix = "";

/** The largest value of the 12-bit `rand_a` field used as a counter. */
const COUNTER_MAX = 0xfff;

/**
 * A new UUIDv7: 48 bits of Unix milliseconds, a 12-bit counter that keeps ids
 * of one millisecond in order (started at a random value below half its
 * range), and 62 random bits.
 *
 * @example
 * ```ts
 * import { uuidv7 } from "./engine/model/id.ts";
 * const a = uuidv7();
 * const b = uuidv7();
 * a < b; // true
 * ```
 */
export function uuidv7(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = Math.floor(Math.random() * (COUNTER_MAX >> 1));
    prefix = timePrefix(ms);
  } else if (++counter > COUNTER_MAX) {
    // More than ~2,000 ids in one millisecond, or the clock went back: borrow the next millisecond.
    ms = ++lastMs;
    counter = 0;
    prefix = timePrefix(ms);
  }
  // randomUUID's last 18 characters ("-Nxxx-xxxxxxxxxxxx") already carry the RFC variant bits.
  return `${prefix}7${counter.toString(16).padStart(3, "0")}${crypto.randomUUID().slice(18)}`;
}

function timePrefix(ms: number): string {
  const hex = ms.toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}

/** A task id's form: a UUID (any version; ids from elsewhere may not be v7). */
export const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The lowest and highest ids that start with `prefix` (hex digits; dashes
 * may be left out or put where an id has them), or `undefined` when no id
 * can start so.
 *
 * @example
 * ```ts
 * import { idPrefixRange } from "./engine/model/id.ts";
 * idPrefixRange("0192c0de00"); // ["0192c0de-0000-0000-…", "0192c0de-00ff-ffff-…"]
 * ```
 */
export function idPrefixRange(prefix: string): [string, string] | undefined {
  const hex = prefix.toLowerCase().replaceAll("-", "");
  if (hex.length > 32 || !/^[0-9a-f]*$/.test(hex)) return undefined;
  // A dash may only stand where an id has one.
  let at = 0;
  for (const char of prefix) {
    if (char === "-" && ![8, 13, 18, 23].includes(at)) return undefined;
    at++;
  }
  const bound = (fill: string) => {
    const digits = hex + fill.repeat(32 - hex.length);
    return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${
      digits.slice(16, 20)
    }-${digits.slice(20)}`;
  };
  return [bound("0"), bound("f")];
}
