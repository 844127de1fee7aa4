/**
 * Retention: finished tasks older than `retentionMs`, or beyond
 * `retentionMaxFinished`, are deleted in the background in small batches.
 *
 * @module
 */

import type { PrunedListener } from "../model/events.ts";
import type { TaskStore } from "../store/store.ts";

/** How often finished tasks past retention are pruned. */
const PRUNE_INTERVAL_MS = 60_000;
/** Rows deleted per store call, so pruning never holds the store for long. */
const PRUNE_BATCH = 1_000;

/** Options for {@linkcode Retention}. */
export interface RetentionOptions {
  retentionMs: number;
  retentionMaxFinished: number;
  /** Called after a prune that deleted anything. */
  onPruned(deleted: number): Promise<void> | void;
}

/**
 * Prunes finished tasks once a minute, or when asked; tells its listeners
 * after each batch it deletes.
 *
 * @example
 * ```ts
 * import { Retention } from "./engine/facade/retention.ts";
 * import { MemoryStore } from "./engine/store/memory_store.ts";
 * const retention = new Retention(new MemoryStore(), {
 *   retentionMs: 86_400_000,
 *   retentionMaxFinished: 1_000,
 *   onPruned: () => {},
 * });
 * await retention.prune(); // 0: nothing has finished
 * ```
 */
export class Retention {
  #store: TaskStore;
  #options: RetentionOptions;
  #listeners = new Set<PrunedListener>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;

  constructor(store: TaskStore, options: RetentionOptions) {
    this.#store = store;
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.prune().catch((error) => {
        console.error("ThreadFlow could not prune finished tasks:", error);
      });
    }, PRUNE_INTERVAL_MS);
  }

  /**
   * Calls `listener` after each batch of deleted tasks (up to 1,000) with
   * how many; returns a function that stops it.
   */
  listen(listener: PrunedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Prunes now (or joins the prune under way); resolves with how many tasks
   * were deleted, or rejects with the store's error.
   */
  prune(): Promise<number> {
    this.#running ??= this.#prune().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer and waits for a prune under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => {});
    this.#listeners.clear();
  }

  async #prune(): Promise<number> {
    const finishedBefore = Date.now() - this.#options.retentionMs;
    let deleted = 0;
    try {
      while (!this.#stopped) {
        const count = await this.#store.prune({
          finishedBefore,
          maxFinished: this.#options.retentionMaxFinished,
          batchSize: PRUNE_BATCH,
        });
        deleted += count;
        if (count > 0) this.#tell(count);
        if (count < PRUNE_BATCH) break;
        // Let other work run between batches.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    } finally {
      // A failing recount is logged: it must not hide the prune's own error or its count.
      if (deleted > 0) await this.#recount(deleted);
    }
    return deleted;
  }

  async #recount(deleted: number): Promise<void> {
    try {
      await this.#options.onPruned(deleted);
    } catch (error) {
      console.error("ThreadFlow could not recount tasks after pruning:", error);
    }
  }

  #tell(deleted: number): void {
    for (const listener of this.#listeners) {
      try {
        listener(deleted);
      } catch (error) {
        console.error("A ThreadFlow prune listener threw:", error);
      }
    }
  }
}
