/**
 * The building blocks of the HTTP API's Zod schemas: error messages that
 * say what was expected and what was received, integer fields with their
 * range, and the priority field.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import { MAX_PRIORITY, MIN_PRIORITY } from "../engine/mod.ts";

/** Describes a received value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** An error message function for Zod: `<expected>: received <value>.` */
export function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) => `${what}: received ${describeValue(issue.input)}.`;
}

/** A Zod integer from `min` to `max` whose error names `what`. */
export function integer(what: string, min: number, max: number) {
  const error = expected(`${what} must be an integer from ${min} to ${max}`);
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A task's priority. */
export const priority = integer("Priority", MIN_PRIORITY, MAX_PRIORITY).openapi({
  description: "1 to 10; 10 is the most urgent. Default 5.",
  example: 5,
});
