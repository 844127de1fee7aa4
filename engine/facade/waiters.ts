/**
 * Promises waiting for tasks to end, by task id.
 *
 * @module
 */

import { isTerminal, type Task } from "../model/task.ts";

/** Callers of `wait(id)` until their task ends. */
export class Waiters {
  #byId = new Map<string, Array<(task: Task) => void>>();

  /** Resolves with the task passed to {@linkcode Waiters.resolve} for `id`; rejects when `signal` aborts. */
  add(id: string, signal?: AbortSignal): Promise<Task> {
    signal?.throwIfAborted();
    return new Promise<Task>((resolve, reject) => {
      const waiter = (task: Task) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(task);
      };
      const onAbort = () => {
        this.#remove(id, waiter);
        reject(signal!.reason);
      };
      const list = this.#byId.get(id);
      if (list === undefined) this.#byId.set(id, [waiter]);
      else list.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Ids of the tasks being waited for, oldest first; at most `limit`. */
  ids(limit: number): string[] {
    const ids: string[] = [];
    for (const id of this.#byId.keys()) {
      if (ids.length === limit) break;
      ids.push(id);
    }
    return ids;
  }

  /** Resolves every waiter of `task.id` with a copy of the task. */
  resolve(task: Task): void {
    // Looking in an empty map would still hash the id, which costs more than the rest.
    if (this.#byId.size === 0) return;
    const list = this.#byId.get(task.id);
    if (list === undefined) return;
    this.#byId.delete(task.id);
    for (const waiter of list) waiter({ ...task });
  }

  /**
   * Looks up, `batch` at a time, the tasks someone waits for and resolves
   * those that ended. A shared store's events can be missed while a node's
   * listening connection reconnects: its sweeps call this.
   */
  async poll(batch: number, get: (id: string) => Promise<Task | undefined>): Promise<void> {
    const ids = this.ids(batch);
    if (ids.length === 0) return;
    try {
      const tasks = await Promise.all(ids.map(get));
      for (const task of tasks) {
        if (task !== undefined && isTerminal(task.status)) this.resolve(task);
      }
    } catch {
      // The store is unreachable; the next sweep looks again.
    }
  }

  /** Resolves every waiter with the task `current(id)` gives (at shutdown), then forgets them. */
  resolveAll(current: (id: string) => Task | undefined): void {
    for (const id of [...this.#byId.keys()]) {
      const task = current(id);
      if (task !== undefined) this.resolve(task);
    }
    this.#byId.clear();
  }

  #remove(id: string, waiter: (task: Task) => void): void {
    const list = this.#byId.get(id);
    if (list === undefined) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.#byId.delete(id);
    else this.#byId.set(id, rest);
  }
}
