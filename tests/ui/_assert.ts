/**
 * The few assertions the dashboard tests use, on `node:assert` (the standard
 * library's `@std/assert` is on JSR, which these machines cannot reach).
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";

/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Asserts a truthy value. */
export function assert(value: unknown, message?: string): asserts value {
  ok(value, message);
}

/** Asserts `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  ok(text.includes(part), message ?? `Expected the text to contain ${JSON.stringify(part)}.`);
}

/** Asserts `text` does not contain `part`. */
export function assertNotIncludes(text: string, part: string, message?: string): void {
  ok(!text.includes(part), message ?? `Expected the text not to contain ${JSON.stringify(part)}.`);
}

/** Asserts `fn` throws an instance of `type` whose message contains `includes`. */
export function assertThrows(
  fn: () => unknown,
  type: abstract new (...args: never[]) => Error,
  includes: string,
): void {
  try {
    fn();
  } catch (error) {
    ok(error instanceof type, `Expected a ${type.name}, got ${error}.`);
    ok(
      (error as Error).message.includes(includes),
      `Expected the message to contain ${JSON.stringify(includes)}: ${(error as Error).message}`,
    );
    return;
  }
  throw new Error(`Expected a ${type.name} to be thrown.`);
}
