/**
 * Retention: finished tasks older than `retentionMs`, or beyond
 * `retentionMaxFinished`, are deleted in the background in small batches.
 *
 * @module
 */

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

/** Prunes finished tasks once a minute. */
export class Retention {
  #store: TaskStore;
  #options: RetentionOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(store: TaskStore, options: RetentionOptions) {
    this.#store = store;
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => this.prune(), PRUNE_INTERVAL_MS);
  }

  /** Prunes now (unless a prune runs already); resolves when done. */
  prune(): Promise<void> {
    this.#running ??= this.#prune().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer and waits for a prune under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  async #prune(): Promise<void> {
    try {
      const finishedBefore = Date.now() - this.#options.retentionMs;
      let deleted = 0;
      while (!this.#stopped) {
        const count = await this.#store.prune({
          finishedBefore,
          maxFinished: this.#options.retentionMaxFinished,
          batchSize: PRUNE_BATCH,
        });
        deleted += count;
        if (count < PRUNE_BATCH) break;
        // Let other work run between batches.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (deleted > 0) await this.#options.onPruned(deleted);
    } catch (error) {
      console.error("ThreadFlow could not prune finished tasks:", error);
    }
  }
}
