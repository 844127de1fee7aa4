/**
 * The `dependsOn` field of a submitted task, checked where it comes from an
 * untrusted source: task ids, or `"#n"` for an earlier task of the same
 * batch. Whether the parents exist is `Dependencies.check`'s to say.
 *
 * @module
 */

import { ValidationError } from "../model/errors.ts";
import { TASK_ID } from "../model/id.ts";
import { MAX_DEPENDENCIES } from "../model/limits.ts";

/**
 * Checks a `dependsOn` field from an untrusted source (ids, or `"#n"` for an
 * earlier task of the batch): `undefined` when absent, else the references
 * as given. Throws a `ValidationError` naming the entry at fault.
 *
 * @example
 * ```ts ignore
 * dependsOnField(["#0"], 1, "tasks[1].dependsOn"); // ["#0"]
 * dependsOnField(["#1"], 1, "tasks[1].dependsOn"); // throws: "#0" only
 * ```
 */
export function dependsOnField(
  value: unknown,
  index: number,
  field: string,
): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > MAX_DEPENDENCIES) {
    throw new ValidationError(
      `Field ${field} must be an array of at most ${MAX_DEPENDENCIES} task ids.`,
      field,
    );
  }
  const seen = new Set<string>();
  return value.map((ref, k) => {
    const at = `${field}[${k}]`;
    if (typeof ref !== "string" || ref === "") {
      throw new ValidationError(
        `Field ${at} must be a task id, or "#n" for the batch's task at index n.`,
        at,
      );
    }
    if (ref.startsWith("#")) {
      const n = Number(ref.slice(1));
      if (index === 0) {
        throw new ValidationError(
          `Field ${at} refers to a task of the batch ("#n"), which only a later task of a batch can.`,
          at,
        );
      }
      if (!/^#\d{1,6}$/.test(ref) || n >= index) {
        throw new ValidationError(
          `Field ${at} must refer to an earlier task of the batch ("#0" to "#${
            index - 1
          }"): received ${JSON.stringify(ref)}.`,
          at,
        );
      }
    } else if (!TASK_ID.test(ref)) {
      throw new ValidationError(
        `Field ${at} must be a task id: received ${JSON.stringify(ref)}.`,
        at,
      );
    }
    if (seen.has(ref)) {
      throw new ValidationError(`Field ${at} names ${JSON.stringify(ref)} twice.`, at);
    }
    seen.add(ref);
    return ref;
  });
}
