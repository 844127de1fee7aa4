/**
 * Hostile inputs for the fuzz test: ids, query strings, bodies and WebSocket
 * frames, each drawn from a seeded {@linkcode Random}.
 *
 * @module
 */

import { encode } from "@msgpack/msgpack";
import type { Random } from "./_random.ts";

/** Depth of the deeply nested inputs. */
export const DEEP = 10_000;

/** Type names users might try to escape `tasksDir` or reach the prototype with. */
export const EVIL_TYPES = [
  "../../etc/passwd",
  "..\\..\\windows\\win.ini",
  "/etc/passwd",
  "file:///etc/passwd",
  "noop/../../../etc/passwd",
  "%2e%2e%2fetc%2fpasswd",
  "noop\u0000.ts",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "",
  " noop",
  "NOOP",
  "https://example.com/x.ts",
  "data:text/javascript,export default()=>1",
];

const GOOD_TYPES = ["noop", "fib", "sha256", "gzip", "primes", "ok", "probe"];

/** `[[[...]]]` nested `depth` deep, as JSON text. */
export function deepArrayJson(depth = DEEP): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** `{"a":{"a":...}}` nested `depth` deep, as JSON text. */
export function deepObjectJson(depth = DEEP): string {
  return '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** MessagePack of a `depth`-deep nested array (fixarray of one, ..., nil). */
export function deepMsgpack(depth = DEEP): Uint8Array {
  const out = new Uint8Array(depth + 1).fill(0x91);
  out[depth] = 0xc0;
  return out;
}

/** Bytes that are not valid UTF-8. */
export function invalidUtf8(random: Random): Uint8Array<ArrayBuffer> {
  const samples = [
    [0xff, 0xfe, 0xfd],
    [0xc0, 0xaf],
    [0xe0, 0x80, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d], // {"type":"\xc3("}
  ];
  const bad = random.pick(samples);
  const prefix = new TextEncoder().encode(random.chance(0.5) ? '{"type":"noop","payload":"' : "");
  const out = new Uint8Array(prefix.length + bad.length);
  out.set(prefix);
  out.set(bad, prefix.length);
  return out;
}

/** A number meant to break parsers and range checks, as JSON text. */
export function hugeNumberText(random: Random): string {
  return random.pick([
    "1e309",
    "-1e309",
    "1e308",
    "9007199254740993",
    "123456789012345678901234567890123456789",
    "-0",
    "0.0000000000000000000000000001",
    "4.5",
    "-1",
    "0",
    "11",
    "2147483648",
    "1" + "0".repeat(400),
  ]);
}

/** A plausible JSON value, sometimes nasty. */
export function randomValue(random: Random, depth = 0): unknown {
  const roll = random.int(depth > 3 ? 6 : 9);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([0, -1, 1, 1e308, -1e308, 2 ** 53 + 2, 0.5, 10, 11, 1e-300]);
    case 3:
      return random.string(20);
    case 4:
      return random.pick(EVIL_TYPES);
    case 5:
      return random.chance(0.1) ? "x".repeat(100_000) : random.string(4);
    case 6: {
      const out: unknown[] = [];
      for (let i = random.int(4); i > 0; i--) out.push(randomValue(random, depth + 1));
      return out;
    }
    default: {
      const out: Record<string, unknown> = {};
      for (let i = random.int(4); i > 0; i--) {
        out[random.pick(["type", "payload", "priority", "ref", "id", random.string(6)])] =
          randomValue(random, depth + 1);
      }
      return out;
    }
  }
}

/** A submit input with one or more fields broken. */
export function mutatedSubmit(random: Random): Record<string, unknown> {
  const task: Record<string, unknown> = {
    type: random.pick(GOOD_TYPES),
    payload: { n: 5, limit: 100, data: "abc", ms: 1 },
    priority: 5,
  };
  const fields = [
    "type",
    "payload",
    "priority",
    "delayMs",
    "runAt",
    "timeoutMs",
    "maxAttempts",
    "idempotencyKey",
    "extra",
    "__proto__",
    "constructor",
  ];
  for (let i = 1 + random.int(3); i > 0; i--) {
    const field = random.pick(fields);
    const value = random.chance(0.2) ? random.pick(EVIL_TYPES) : randomValue(random);
    if (field === "__proto__" || field === "constructor") {
      // Assigning __proto__ would set the prototype; define it as an own key like JSON.parse does.
      Object.defineProperty(task, field, {
        value: { polluted: true, prototype: { polluted: true } },
        enumerable: true,
        configurable: true,
        writable: true,
      });
    } else {
      task[field] = value;
    }
  }
  return task;
}

/** JSON text with `__proto__` / `constructor.prototype` keys aimed at Object.prototype. */
export function pollutingJson(random: Random, wrap: (inner: string) => string): string {
  const inner = random.pick([
    '{"type":"noop","__proto__":{"polluted":"yes"}}',
    '{"type":"noop","payload":{"__proto__":{"polluted":"yes"}}}',
    '{"type":"noop","constructor":{"prototype":{"polluted":"yes"}}}',
    '{"type":"noop","payload":{"constructor":{"prototype":{"polluted":"yes"}}}}',
    '{"__proto__":{"type":"noop","polluted":"yes"}}',
    '{"type":"__proto__","payload":{"__proto__":{"toString":1}}}',
  ]);
  return wrap(inner);
}

/** A hostile id for `{id}` path parameters. */
export function badId(random: Random, realIds: readonly string[]): string {
  const real = realIds.length > 0 ? random.pick(realIds) : "00000000-0000-0000-0000-000000000000";
  return random.pick([
    "",
    " ",
    "..",
    "%2e%2e",
    "..%2f..%2fetc%2fpasswd",
    "%00",
    "%ff%fe",
    "%",
    "%%",
    "__proto__",
    "constructor",
    "prototype",
    "x".repeat(3000),
    encodeURIComponent(random.string(30).toWellFormed()),
    real.toUpperCase(),
    real.slice(0, -1) + (real.endsWith("0") ? "1" : "0"),
    real + "'--",
    real + "%20",
    "1 OR 1=1",
    "'; DROP TABLE tasks; --",
    real,
  ]);
}

/** A hostile query string (without `?`). */
export function badQuery(random: Random, names: readonly string[]): string {
  const name = names.length > 0 && random.chance(0.8)
    ? random.pick(names)
    : random.pick(["x", "__proto__[polluted]", "constructor[prototype][polluted]", "%", "a%ZZ"]);
  const value = random.pick([
    "",
    "abc",
    "-1",
    "0",
    "11",
    "NaN",
    "Infinity",
    "0x10",
    "1e309",
    "99999999999999999999999",
    "4.5",
    "%ff",
    "%",
    "%00",
    "__proto__",
    encodeURIComponent(random.pick(EVIL_TYPES)),
    encodeURIComponent(random.string(10).toWellFormed()),
    "y".repeat(2000),
    "succeeded,failed",
    "eyJpZCI6Il9fcHJvdG9fXyJ9", // base64 of {"id":"__proto__"}
  ]);
  const parts = [`${name}=${value}`];
  if (random.chance(0.3)) parts.push(`${name}=${random.pick(["1", "2", "x"])}`);
  if (random.chance(0.2)) parts.push("__proto__[polluted]=1&constructor[prototype][polluted]=1");
  return parts.join("&");
}

/** A request body and its content type for a POST route. */
export interface BodyCase {
  kind: string;
  contentType: string | undefined;
  body: BodyInit | undefined;
  /** Whether the input is certainly invalid (must be answered with 4xx). */
  bad: boolean;
}

/** A hostile body; `maxBody` is the service's limit, to cross it on purpose. */
export function badBody(random: Random, maxBody: number, batch: boolean): BodyCase {
  const json = "application/json";
  const wrap = (inner: string) => batch ? `{"tasks":[${inner}]}` : inner;
  const roll = random.int(16);
  switch (roll) {
    case 0:
      return { kind: "deep-array", contentType: json, body: deepArrayJson(), bad: true };
    case 1:
      return {
        kind: "deep-payload",
        contentType: json,
        body: wrap(`{"type":"noop","payload":${deepObjectJson()}}`),
        bad: false,
      };
    case 2:
      return { kind: "deep-object", contentType: json, body: deepObjectJson(), bad: true };
    case 3:
      return {
        kind: "huge-number",
        contentType: json,
        body: wrap(
          `{"type":"noop","priority":${hugeNumberText(random)},"timeoutMs":${
            hugeNumberText(random)
          }}`,
        ),
        bad: false,
      };
    case 4: {
      const size = random.pick([1000, 100_000, maxBody - 200]);
      return {
        kind: "huge-string",
        contentType: json,
        body: wrap(`{"type":"${"t".repeat(size)}"}`),
        bad: true,
      };
    }
    case 5:
      return { kind: "invalid-utf8", contentType: json, body: invalidUtf8(random), bad: true };
    case 6: {
      const text = JSON.stringify(
        batch ? { tasks: [mutatedSubmit(random)] } : mutatedSubmit(random),
      );
      return {
        kind: "truncated-json",
        contentType: json,
        body: text.slice(0, 1 + random.int(text.length - 1)),
        bad: true,
      };
    }
    case 7:
      return {
        kind: "wrong-content-type",
        contentType: random.pick([
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/xml",
          "application/msgpack",
          "application/json; charset=latin1",
          "",
        ]),
        body: random.chance(0.5)
          ? JSON.stringify({ type: "noop" })
          : "type=noop&__proto__[polluted]=1",
        bad: false,
      };
    case 8: {
      const encoded = encode(batch ? { tasks: [{ type: "noop" }] } : { type: "noop" });
      return {
        kind: "truncated-msgpack",
        contentType: random.pick(["application/msgpack", "application/octet-stream", json]),
        body: encoded.slice(0, random.int(encoded.length)),
        bad: false,
      };
    }
    case 9:
      return {
        kind: "octet-stream",
        contentType: "application/octet-stream",
        body: random.bytes(random.int(2000)),
        bad: false,
      };
    case 10:
      return {
        kind: "oversized",
        contentType: random.pick([json, "application/octet-stream"]),
        body: random.bytes(maxBody + 1 + random.int(50_000)),
        bad: true,
      };
    case 11:
      return {
        kind: "oversized-chunked",
        contentType: json,
        body: chunkedBody(random.bytes(maxBody + 1 + random.int(50_000))),
        bad: true,
      };
    case 12:
      return {
        kind: "polluting",
        contentType: json,
        body: pollutingJson(random, wrap),
        bad: false,
      };
    case 13:
      return {
        kind: "random-json",
        contentType: json,
        body: JSON.stringify(randomValue(random)),
        bad: false,
      };
    case 14:
      return {
        kind: "no-body",
        contentType: random.chance(0.5) ? json : undefined,
        body: undefined,
        bad: false,
      };
    default: {
      const task = mutatedSubmit(random);
      return {
        kind: "mutated-submit",
        contentType: json,
        body: JSON.stringify(batch ? { tasks: [task, mutatedSubmit(random)] } : task),
        bad: false,
      };
    }
  }
}

function chunkedBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 16_384));
      offset += 16_384;
    },
  });
}

/** A WebSocket frame to send and whether it is certainly malformed. */
export interface FrameCase {
  kind: string;
  data: string | Uint8Array;
  bad: boolean;
}

/** A hostile WebSocket frame; `maxMessage` is the service's message limit. */
export function badFrame(
  random: Random,
  maxMessage: number,
  realIds: readonly string[],
): FrameCase {
  const roll = random.int(14);
  const ref = `f${random.int(1e9)}`;
  switch (roll) {
    case 0:
      return { kind: "random-text", data: random.string(40), bad: true };
    case 1: {
      const text = JSON.stringify({ type: "submit", ref, task: { type: "noop" } });
      return { kind: "truncated-json", data: text.slice(0, random.int(text.length)), bad: true };
    }
    case 2:
      return {
        kind: "not-an-object",
        data: random.pick(["1", "null", "[]", '"submit"', "true", deepArrayJson()]),
        bad: true,
      };
    case 3:
      return {
        kind: "bad-type",
        data: JSON.stringify({ type: random.pick([1, null, "", "SUBMIT", "__proto__", "x"]), ref }),
        bad: true,
      };
    case 4:
      return {
        kind: "mutated-submit",
        data: JSON.stringify({ type: "submit", ref, task: mutatedSubmit(random) }),
        bad: false,
      };
    case 5:
      return {
        kind: "bad-cancel",
        data: JSON.stringify({ type: "cancel", ref, id: badId(random, realIds) }),
        bad: false,
      };
    case 6:
      return {
        kind: "bad-subscribe",
        data: JSON.stringify({
          type: "subscribe",
          ref,
          since: random.pick([-1, 1.5, "x", null, -1e308]),
          filter: random.pick([
            "x",
            { taskIds: "x" },
            { statuses: ["nope"] },
            { types: [1] },
            null,
          ]),
          // intervalMs over 2^31-1 is a known bug (see ws_limits_test.ts), left out here.
          stats: random.pick([{ intervalMs: -5 }, "yes", 7, { intervalMs: 1.5 }, true]),
        }),
        bad: true,
      };
    case 7:
      return {
        kind: "deep-nesting",
        data:
          `{"type":"submit","ref":"${ref}","task":{"type":"noop","payload":${deepObjectJson()}}}`,
        bad: false,
      };
    case 8:
      return { kind: "random-binary", data: random.bytes(1 + random.int(64)), bad: true };
    case 9: {
      const bytes = encode({ type: "submit", ref, task: { type: "noop", payload: { a: 1 } } });
      return {
        kind: "truncated-msgpack",
        data: bytes.slice(0, 1 + random.int(bytes.length - 1)),
        bad: true,
      };
    }
    case 10:
      return { kind: "deep-msgpack", data: deepMsgpack(), bad: true };
    case 11:
      return {
        kind: "oversized-text",
        data: JSON.stringify({ type: "ping", ref, pad: "p".repeat(maxMessage + 10) }),
        bad: true,
      };
    case 12:
      return {
        kind: "polluting",
        data: pollutingJson(random, (inner) => `{"type":"submit","ref":"${ref}","task":${inner}}`),
        bad: false,
      };
    default:
      return {
        kind: "msgpack-proto",
        data: encode({ type: "submit", ref, task: { type: "noop", payload: { x: 1 } } }),
        bad: false,
      };
  }
}
