/**
 * The task stores, and {@linkcode openStore} to pick one from a spec such as
 * `--store sqlite:./data/threadflow.db`.
 *
 * | spec                          | store                                      |
 * | ----------------------------- | ------------------------------------------ |
 * | `memory`                      | {@linkcode MemoryStore} (nothing survives) |
 * | `sqlite` / `sqlite:PATH`      | {@linkcode SqliteStore} (default `./data/threadflow.db`) |
 * | `postgres://…` / `postgresql://…` | {@linkcode PostgresStore} (shared by several nodes; `?schema=NAME`) |
 *
 * @module
 */

import { InvalidOptionError } from "../model/errors.ts";
import { MemoryStore } from "./memory_store.ts";
import { PostgresStore } from "./postgres/postgres_store.ts";
import { SqliteStore } from "./sqlite/sqlite_store.ts";
import type { TaskStore } from "./store.ts";

export { MemoryStore } from "./memory_store.ts";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite/sqlite_store.ts";
export { PostgresStore, type PostgresStoreOptions } from "./postgres/postgres_store.ts";
export {
  type CancelChange,
  type ClaimedTask,
  type ClusterDepth,
  type FencedWrite,
  isSharedStore,
  type Lease,
  type NodeHeartbeat,
  type NodeRecord,
  type SharedMessage,
  type SharedMessageListener,
  type SharedTaskStore,
  type StoreChange,
} from "./shared_store.ts";
export { type InsertOutcome, type PruneOptions, type TaskStore } from "./store.ts";

/** The SQLite file used by `--store sqlite` without a path. */
export const DEFAULT_SQLITE_PATH = "./data/threadflow.db";

/**
 * The store for a spec: `memory`, `sqlite`, `sqlite:PATH`, or a
 * `postgres://` / `postgresql://` URL (optionally with `?schema=NAME`). The
 * store is not opened yet: the engine calls `open()`. Throws
 * `InvalidOptionError` (field `store`) for anything else.
 *
 * @example
 * ```ts
 * import { openStore } from "./mod.ts";
 * const store = openStore("sqlite:./data/threadflow.db");
 * console.log(store.name, store.kind); // "sqlite:./data/threadflow.db" "local"
 * ```
 */
export function openStore(spec: string): TaskStore {
  const trimmed = spec.trim();
  if (trimmed === "memory") return new MemoryStore();
  if (trimmed === "sqlite") return new SqliteStore(DEFAULT_SQLITE_PATH);
  if (trimmed.startsWith("sqlite:")) {
    const path = trimmed.slice("sqlite:".length);
    if (path === "") {
      throw new InvalidOptionError(
        `Store "sqlite:" needs a file path after the colon, e.g. "sqlite:${DEFAULT_SQLITE_PATH}".`,
        "store",
      );
    }
    return new SqliteStore(path);
  }
  if (trimmed.startsWith("postgres://") || trimmed.startsWith("postgresql://")) {
    try {
      return new PostgresStore(trimmed);
    } catch (error) {
      // Not the URL parser's message: it would repeat the URL, password included.
      const reason = error instanceof TypeError
        ? "it is not a valid URL"
        : error instanceof Error
        ? error.message
        : String(error);
      throw new InvalidOptionError(`The PostgreSQL store URL is not usable: ${reason}`, "store");
    }
  }
  throw new InvalidOptionError(
    `Store must be "memory", "sqlite", "sqlite:PATH" or a postgres:// URL: received ${
      JSON.stringify(spec)
    }.`,
    "store",
  );
}

/**
 * The store an engine option names: a store object, a spec for
 * {@linkcode openStore}, or (when `undefined`) a new in-memory store.
 *
 * @example
 * ```ts
 * import { storeOf } from "./engine/store/mod.ts";
 * storeOf("memory").name; // "memory"
 * ```
 */
export function storeOf(store: TaskStore | string | undefined): TaskStore {
  if (store === undefined) return new MemoryStore();
  if (typeof store === "string") return openStore(store);
  if (typeof store === "object" && store !== null && typeof store.open === "function") return store;
  throw new InvalidOptionError(
    `Option store must be "memory", "sqlite", "sqlite:PATH", a postgres:// URL or a TaskStore.`,
    "store",
  );
}
