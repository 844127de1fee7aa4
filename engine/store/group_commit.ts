/**
 * Group commit: work items added during one turn of the event loop run as
 * one batch, batches run one at a time in order, and callers can wait until
 * everything added so far has run. The SQLite store, the PostgreSQL store and
 * the engine's store writer all batch their writes through this one class;
 * each supplies how a batch runs (one transaction, one statement, …) and
 * settles its own items.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";

/** When a batch starts after its first item: this microtask checkpoint, or after pending I/O. */
export type BatchTiming = "microtask" | "immediate";

/**
 * Batches items per event-loop turn.
 *
 * @example
 * ```ts
 * import { GroupCommit } from "./engine/store/group_commit.ts";
 * const commits = new GroupCommit<string>((batch) => console.log(batch), "microtask");
 * commits.add("a");
 * commits.add("b"); // one batch: ["a", "b"]
 * await commits.settled();
 * ```
 */
export class GroupCommit<T> {
  #run: (batch: T[]) => Promise<void> | void;
  #timing: BatchTiming;
  #items: T[] = [];
  #scheduled = false;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  /** `run` takes a batch and settles its items; a rejection is logged and the next batch runs. */
  constructor(run: (batch: T[]) => Promise<void> | void, timing: BatchTiming) {
    this.#run = run;
    this.#timing = timing;
  }

  /** Items waiting for the next batch. */
  get size(): number {
    return this.#items.length;
  }

  /** Whether nothing waits and no batch runs. */
  get idle(): boolean {
    return this.#items.length === 0 && this.#running === undefined;
  }

  /** Adds an item to the batch of this turn. */
  add(item: T): void {
    this.#items.push(item);
    this.#schedule();
  }

  /** Puts items back at the head of the next batch (a batch to retry). */
  requeue(items: T[]): void {
    this.#items.unshift(...items);
    this.#schedule();
  }

  /** Runs what waits now, without waiting for the end of the turn, and resolves once all has run. */
  async settled(): Promise<void> {
    while (this.#items.length > 0 || this.#running !== undefined) {
      if (this.#running === undefined) this.#start();
      await this.#running;
    }
  }

  /** Stops scheduling batches; {@linkcode GroupCommit.settled} still runs what waits. */
  close(): void {
    this.#closed = true;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== undefined || this.#closed) return;
    this.#scheduled = true;
    if (this.#timing === "microtask") queueMicrotask(() => this.#start());
    else this.#immediate = setImmediate(() => this.#start());
  }

  #start(): void {
    this.#scheduled = false;
    this.#immediate = undefined;
    if (this.#running !== undefined || this.#items.length === 0) return;
    const batch = this.#items;
    this.#items = [];
    let result: Promise<void> | void;
    try {
      result = this.#run(batch);
    } catch (error) {
      console.error("ThreadFlow: a batch of store writes failed:", error);
      result = undefined;
    }
    if (result === undefined) {
      if (this.#items.length > 0) this.#schedule();
      return;
    }
    this.#running = result.then(
      () => {},
      (error) => console.error("ThreadFlow: a batch of store writes failed:", error),
    ).finally(() => {
      this.#running = undefined;
      if (this.#items.length > 0) this.#schedule();
    });
  }
}
