/**
 * Builds the task store named by `--store`. One place to add store kinds.
 *
 * @module
 */

import type { TaskStore } from "../mod.ts";
import { InvalidOptionError, openStore } from "../engine/mod.ts";
import { ConfigError } from "./config.ts";

/**
 * The store for a `--store` spec: `memory` (this process only), `sqlite`,
 * `sqlite:PATH`, or a `postgres://` URL. The engine opens it at start.
 * Throws {@linkcode ConfigError} naming `--store` for anything else.
 *
 * @example
 * ```ts
 * import { storeFromConfig } from "./store_from_config.ts";
 * const store = storeFromConfig("memory");
 * ```
 */
export function storeFromConfig(spec: string): TaskStore {
  try {
    return openStore(spec);
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      throw new ConfigError("--store", `--store (or THREADFLOW_STORE): ${error.message}`);
    }
    throw error;
  }
}
