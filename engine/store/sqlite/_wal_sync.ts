/**
 * Private to the SQLite store: durability without blocking the event loop.
 * The connection runs at `synchronous = NORMAL` (no fsync inside COMMIT);
 * after each commit the write-ahead log is synced here by an asynchronous
 * `fdatasync`, and only then do the batch's calls settle. So a resolved call
 * is on disk, as with `FULL`, while requests are served during the sync.
 *
 * @module
 */

import { StoreUnavailableError } from "../../model/errors.ts";
import { describe } from "./_rows.ts";

/** Most WAL syncs under way at once. */
const MAX_SYNCS_IN_FLIGHT = 2;
/** Longest a committed batch no caller waits for waits for a sync. */
const DEFERRED_SYNC_MS = 5;

/** A committed batch whose calls settle once the WAL is synced. */
export interface CommittedBatch {
  settle(): void;
  fail(error: unknown): void;
}

/** Syncs the WAL of the database at `path`, and settles the batches committed before each sync. */
export class WalSync {
  readonly #path: string;
  readonly #wal: Deno.FsFile;
  /** Syncs under way, each settling the batches committed before it began. */
  #syncing = new Set<Promise<void>>();
  /** Committed batches no caller waits for, waiting for the next sync. */
  #deferred: CommittedBatch[] = [];
  #deferredTimer: ReturnType<typeof setTimeout> | undefined;

  /** Opens the WAL file of the database at `path` (the database must be open in WAL mode). */
  constructor(path: string) {
    this.#path = path;
    this.#wal = Deno.openSync(`${path}-wal`, { read: true });
  }

  /**
   * Syncs for `batch`, which a caller waits for (with the deferred ones).
   * A new batch may commit while one sync runs (a submit then waits for its
   * own sync, not also for the one before); with more in flight the answer
   * is that sync, for the store to wait on, so batches grow instead.
   */
  now(batch: CommittedBatch): Promise<void> | undefined {
    const sync = this.#sync([...this.#takeDeferred(), batch]);
    return this.#syncing.size < MAX_SYNCS_IN_FLIGHT ? undefined : sync;
  }

  /**
   * Holds `batch`, which no caller waits for (the engine's record of task
   * changes), for the next sync a caller waits for, or its own after
   * `DEFERRED_SYNC_MS`: the disk syncs for submits.
   */
  later(batch: CommittedBatch): void {
    this.#deferred.push(batch);
    this.#deferredTimer ??= setTimeout(() => {
      this.#deferredTimer = undefined;
      this.#sync(this.#takeDeferred());
    }, DEFERRED_SYNC_MS);
  }

  /** Resolves once every batch so far is synced and settled. */
  async settled(): Promise<void> {
    if (this.#deferred.length > 0) this.#sync(this.#takeDeferred());
    while (this.#syncing.size > 0) await Promise.all(this.#syncing);
  }

  /** Closes the WAL file (after {@linkcode settled}). */
  close(): void {
    this.#wal.close();
  }

  #takeDeferred(): CommittedBatch[] {
    clearTimeout(this.#deferredTimer);
    this.#deferredTimer = undefined;
    const deferred = this.#deferred;
    this.#deferred = [];
    return deferred;
  }

  /** Syncs the WAL, then settles `batches` (all committed before the sync began). */
  #sync(batches: CommittedBatch[]): Promise<void> {
    if (batches.length === 0) return Promise.resolve();
    const sync: Promise<void> = this.#wal.syncData().then(
      () => {
        for (const batch of batches) batch.settle();
      },
      (error) => {
        const failure = new StoreUnavailableError(
          `Could not sync the SQLite write-ahead log of "${this.#path}" to disk: ${
            describe(error)
          }.`,
        );
        for (const batch of batches) batch.fail(failure);
      },
    ).finally(() => this.#syncing.delete(sync));
    this.#syncing.add(sync);
    return sync;
  }
}
