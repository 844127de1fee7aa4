/**
 * Builds the task store named by `--store`. One place to add store kinds.
 *
 * @module
 */

import { MemoryStore, type TaskStore } from "../mod.ts";
import { ConfigError } from "./config.ts";

/**
 * The store for a `--store` spec. `memory` keeps tasks in this process only.
 *
 * @example
 * ```ts
 * import { storeFromConfig } from "./server/store_from_config.ts";
 * const store = storeFromConfig("memory");
 * ```
 */
export function storeFromConfig(spec: string): TaskStore {
  if (spec === "memory") return new MemoryStore();
  throw new ConfigError(
    "--store",
    `--store (or THREADFLOW_STORE) must be memory: received ${JSON.stringify(spec)}.`,
  );
}
