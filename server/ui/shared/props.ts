/**
 * The wire format of island props: how the server writes them into the page
 * and how the browser reads them back. Shared by both sides, so it imports
 * nothing.
 *
 * JSON, with two additions JSON lacks: bytes (`Uint8Array`, e.g. a task's
 * byte payload) and objects that happen to use the tag key themselves.
 *
 * @module
 */

/** The key that marks a tagged value in the serialized form. */
const TAG = "$tf";

/** A value that survives {@linkcode serializeProps} and {@linkcode deserializeProps}. */
export type SerializableValue =
  | null
  | boolean
  | number
  | string
  | undefined
  | Uint8Array
  | SerializableValue[]
  | { [key: string]: SerializableValue };

/**
 * Serializes island props to JSON that is safe inside a
 * `<script type="application/json">` element: `<` is escaped, so no value can
 * close the element or open a comment.
 *
 * Throws a `TypeError` naming the path of a value that cannot be sent to the
 * browser (a function, a symbol, a class instance other than `Uint8Array`, a
 * cycle).
 *
 * @example
 * ```ts
 * import { deserializeProps, serializeProps } from "./props.ts";
 * const text = serializeProps([{ bytes: new Uint8Array([1, 2]) }]);
 * const back = deserializeProps(text) as { bytes: Uint8Array }[];
 * console.log(back[0].bytes); // Uint8Array [1, 2]
 * ```
 */
export function serializeProps(value: unknown): string {
  const json = JSON.stringify(encodeValue(value, "props", new Set()));
  return json
    .replaceAll("<", "\\u003c")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

/**
 * Reads back what {@linkcode serializeProps} wrote.
 *
 * @example
 * ```ts
 * import { deserializeProps } from "./props.ts";
 * deserializeProps('{"$tf":"bytes","b64":"AQI="}'); // Uint8Array [1, 2]
 * ```
 */
export function deserializeProps(text: string): unknown {
  return decodeValue(JSON.parse(text));
}

function encodeValue(value: unknown, path: string, seen: Set<object>): unknown {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (value === undefined) return undefined;
  if (typeof value !== "object") {
    throw new TypeError(
      `Island props must be JSON values or bytes: ${path} is a ${typeof value}.`,
    );
  }
  if (value instanceof Uint8Array) return { [TAG]: "bytes", b64: bytesToBase64(value) };
  if (seen.has(value)) {
    throw new TypeError(`Island props must not contain cycles: ${path} refers back to itself.`);
  }
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item, i) => {
      const encoded = encodeValue(item, `${path}[${i}]`, seen);
      return encoded === undefined ? null : encoded;
    });
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = proto?.constructor?.name ?? "unknown";
      throw new TypeError(
        `Island props must be plain objects, arrays or Uint8Array: ${path} is a ${name}.`,
      );
    }
    const obj: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const encoded = encodeValue(item, `${path}.${key}`, seen);
      if (encoded !== undefined) obj[key] = encoded;
    }
    out = TAG in obj ? { [TAG]: "object", value: obj } : obj;
  }
  seen.delete(value);
  return out;
}

function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decodeValue);
  const obj = value as Record<string, unknown>;
  if (TAG in obj) {
    if (obj[TAG] === "bytes") return base64ToBytes(String(obj.b64));
    if (obj[TAG] === "object") return decodeObject(obj.value as Record<string, unknown>);
  }
  return decodeObject(obj);
}

function decodeObject(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(obj)) out[key] = decodeValue(item);
  return out;
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64ToBytes(b64: string): Uint8Array {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
