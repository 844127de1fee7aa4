/**
 * Turns Zod validation failures into the API's 400 answer naming the field.
 *
 * @module
 */

import type { z } from "@hono/zod-openapi";
import { HttpError } from "./errors.ts";

/**
 * Formats an issue path as the API names fields: `["tasks", 3, "priority"]`
 * becomes `tasks[3].priority`.
 *
 * @example
 * ```ts
 * import { fieldName } from "./validation.ts";
 * fieldName(["tasks", 3, "priority"]); // "tasks[3].priority"
 * ```
 */
export function fieldName(path: readonly PropertyKey[]): string {
  let field = "";
  for (const part of path) {
    if (typeof part === "number") field += `[${part}]`;
    else field += field === "" ? String(part) : `.${String(part)}`;
  }
  return field;
}

/**
 * The HTTP error for the first issue of a failed parse; `target` (`json`,
 * `query`) names the field when the issue is about the whole input.
 *
 * @example
 * ```ts
 * import { SubmitInputSchema } from "./schemas.ts";
 * import { validationError } from "./validation.ts";
 * const parsed = SubmitInputSchema.safeParse({ type: "fib", priority: 11 });
 * if (!parsed.success) validationError(parsed.error, "json").field; // "priority"
 * ```
 */
export function validationError(error: z.ZodError, target?: string): HttpError {
  const issue = error.issues[0];
  if (issue === undefined) {
    return new HttpError(400, "validation_error", "The request is not valid.");
  }
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const field = fieldName([...issue.path, key]);
    return new HttpError(
      400,
      "validation_error",
      `${field} is not a known field; see /api/openapi.json for the fields accepted.`,
      field,
    );
  }
  const field = fieldName(issue.path) || (target === "query" ? "query" : "body");
  // Zod's own messages ("Invalid input: ...") are made into sentences that name the field.
  const message = issue.message.startsWith("Invalid input")
    ? `${field} is not valid: ${issue.message.replace(/^Invalid input:?\s*/, "")}.`
    : issue.message;
  return new HttpError(400, "validation_error", message, field);
}
