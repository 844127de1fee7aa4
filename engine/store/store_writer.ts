/**
 * The engine's writes: every task that changed in one turn of the event loop
 * goes to the store in one write (group commit, through
 * {@linkcode GroupCommit}). Writes about tasks claimed from a shared store
 * carry their lease token, so a node that lost a lease cannot overwrite the
 * newer attempt.
 *
 * @module
 */

import type { Task } from "../model/task.ts";
import { isTerminal } from "../model/task.ts";
import { GroupCommit } from "./group_commit.ts";
import type { TaskStore } from "./store.ts";
import type { SharedTaskStore } from "./shared_store.ts";

/** Lease tokens of claimed tasks, when the store is shared. */
export interface Fencing {
  store: SharedTaskStore;
  /** Task id → lease token; an entry goes once its task is finished or scheduled. */
  leases: Map<string, string>;
}

/** Batches task changes into one store write per event-loop turn. */
export class StoreWriter {
  #store: TaskStore;
  #fencing: Fencing | null;
  #commits: GroupCommit<Task>;
  #marked = new Set<Task>();
  /** The store keeps the engine's task objects: see {@linkcode TaskStore.keepsTaskObjects}. */
  #inPlace: boolean;
  /** Writes handed to a local store and not yet durable. */
  #pending = new Set<Promise<void>>();

  constructor(store: TaskStore, fencing: Fencing | null) {
    this.#store = store;
    this.#inPlace = store.keepsTaskObjects === true && fencing === null;
    this.#fencing = fencing;
    this.#commits = new GroupCommit((tasks) => this.#write(tasks), "microtask");
  }

  /** Records that `task` changed; it is written at the end of this turn. */
  mark(task: Task): void {
    if (this.#inPlace) {
      // A store holding this very object has the change already; only an end is news to it,
      // and an end is marked once, as it happens: no set of marked tasks to look it up in
      // (the first use of an object as a key costs it an identity hash).
      if (isTerminal(task.status)) this.#commits.add(task);
      return;
    }
    if (this.#marked.has(task)) return;
    this.#marked.add(task);
    this.#commits.add(task);
  }

  /** Resolves once every write so far has settled. */
  async settled(): Promise<void> {
    await this.#commits.settled();
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  #write(tasks: Task[]): Promise<void> | void {
    this.#marked.clear();
    const fencing = this.#fencing;
    if (fencing !== null) {
      return this.#fencedWrite(tasks, fencing).catch((error) => this.#failed(tasks, error));
    }
    // A local store orders writes in call order: hand it each turn's changes at once rather
    // than after the last write is durable, so a read of the store sees them (it queues behind
    // them) and the store's own group commit gathers them.
    const write: Promise<void> = this.#store.write(tasks)
      .catch((error) => this.#failed(tasks, error))
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  #failed(tasks: Task[], error: unknown): void {
    console.error(`ThreadFlow could not record ${tasks.length} task changes:`, error);
  }

  async #fencedWrite(tasks: Task[], fencing: Fencing): Promise<void> {
    const fenced: Array<{ task: Task; leaseToken: string }> = [];
    const plain: Task[] = [];
    for (const task of tasks) {
      const leaseToken = fencing.leases.get(task.id);
      if (leaseToken === undefined) {
        plain.push(task);
        continue;
      }
      // A copy: the write must carry the state of this turn, not a later one.
      fenced.push({ task: { ...task }, leaseToken });
      if (isTerminal(task.status) || task.status === "scheduled") fencing.leases.delete(task.id);
    }
    if (plain.length > 0) await fencing.store.write(plain);
    if (fenced.length === 0) return;
    const refused = await fencing.store.writeFenced(fenced);
    if (refused.length > 0) {
      console.warn(
        `ThreadFlow lost the lease of ${refused.length} tasks; their changes were not recorded.`,
      );
    }
  }
}
