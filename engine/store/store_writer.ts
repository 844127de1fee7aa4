/**
 * Group commit: every task that changed in one turn of the event loop goes
 * to the store in one write. Writes about tasks claimed from a shared store
 * carry their lease token, so a node that lost a lease cannot overwrite the
 * newer attempt.
 *
 * @module
 */

import type { Task } from "../model/task.ts";
import type { TaskStore } from "./store.ts";
import type { SharedTaskStore } from "./shared_store.ts";

/** Lease tokens of claimed tasks, when the store is shared. */
export interface Fencing {
  store: SharedTaskStore;
  /** Task id → lease token; entries are dropped once the task leaves `running`. */
  leases: Map<string, string>;
}

/** Batches task changes into one store write per event-loop turn. */
export class StoreWriter {
  #store: TaskStore;
  #fencing: Fencing | null;
  #dirty = new Set<Task>();
  #scheduled = false;
  #writes: Promise<void> = Promise.resolve();

  constructor(store: TaskStore, fencing: Fencing | null) {
    this.#store = store;
    this.#fencing = fencing;
  }

  /** Records that `task` changed; it is written at the end of this turn. */
  mark(task: Task): void {
    this.#dirty.add(task);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes what changed now, without waiting for the end of the turn. */
  flush(): void {
    this.#scheduled = false;
    if (this.#dirty.size === 0) return;
    const tasks = [...this.#dirty];
    this.#dirty.clear();
    const write = this.#fencing === null
      ? () => this.#store.write(tasks)
      : this.#fencedWrite(tasks, this.#fencing);
    this.#writes = this.#writes.then(write).catch((error) => {
      console.error(`ThreadFlow could not record ${tasks.length} task changes:`, error);
    });
  }

  /** Resolves once every write so far has settled. */
  async settled(): Promise<void> {
    this.flush();
    await this.#writes;
  }

  #fencedWrite(tasks: Task[], fencing: Fencing): () => Promise<void> {
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
      if (task.status !== "running") fencing.leases.delete(task.id);
    }
    return async () => {
      if (plain.length > 0) await fencing.store.write(plain);
      if (fenced.length === 0) return;
      const refused = await fencing.store.writeFenced(fenced);
      if (refused.length > 0) {
        console.warn(
          `ThreadFlow lost the lease of ${refused.length} tasks; their results were not recorded.`,
        );
      }
    };
  }
}
