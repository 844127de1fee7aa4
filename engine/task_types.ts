/**
 * The task type registry: the built-in types and the modules of `tasksDir`.
 * Types are looked up by name in a map, so a name from a user can never
 * reach the file system.
 *
 * @module
 */

import { InvalidOptionError } from "./errors.ts";

/** A task type the engine can run. */
export interface TaskTypeInfo {
  name: string;
  /** Shipped with ThreadFlow (`true`) or loaded from `tasksDir`. */
  builtin: boolean;
  /** The module's URL. */
  source: string;
}

/** Names of the built-in task types. */
export const BUILTIN_TASK_TYPES = ["noop", "sleep", "fib", "primes", "sha256", "gzip"] as const;

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MODULE_FILE = /\.(ts|js|mts|mjs)$/;

/**
 * Lists the built-in types and every module in `tasksDir` (a type named after
 * its file). Throws {@linkcode InvalidOptionError} naming the folder or file at fault.
 */
export async function loadTaskTypes(tasksDir: URL | null): Promise<Map<string, TaskTypeInfo>> {
  const types = new Map<string, TaskTypeInfo>();
  for (const name of BUILTIN_TASK_TYPES) {
    const source = new URL(`../workers/tasks/${name}.ts`, import.meta.url).href;
    types.set(name, { name, builtin: true, source });
  }
  if (tasksDir === null) return types;

  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(tasksDir)) {
      if (!entry.isFile || !MODULE_FILE.test(entry.name)) continue;
      if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
      if (/_test\.(ts|js|mts|mjs)$/.test(entry.name) || entry.name.endsWith(".d.ts")) continue;
      files.push(entry.name);
    }
  } catch (error) {
    throw new InvalidOptionError(
      `Option tasksDir must be a readable folder: ${tasksDir.pathname} (${
        (error as Error).message
      }).`,
      "tasksDir",
    );
  }
  files.sort();
  for (const file of files) {
    const name = file.replace(MODULE_FILE, "");
    const source = new URL(file, tasksDir).href;
    if (!TYPE_NAME.test(name)) {
      throw new InvalidOptionError(
        `Task module ${source} has a name that is not a valid task type: use a letter, then letters, digits, dashes or underscores (at most 64).`,
        "tasksDir",
      );
    }
    const existing = types.get(name);
    if (existing !== undefined) {
      throw new InvalidOptionError(
        `Task module ${source} is named like the ${
          existing.builtin ? "built-in" : "other"
        } task type ${JSON.stringify(name)} (${existing.source}): rename the file.`,
        "tasksDir",
      );
    }
    types.set(name, { name, builtin: false, source });
  }
  return types;
}
