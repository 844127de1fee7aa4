/**
 * Task dependencies: a task submitted with `dependsOn` waits `blocked` until
 * every task it depends on (its parents) has succeeded; then it is released
 * to `queued` (or `scheduled`, when its `runAt` is still ahead). When a
 * parent fails or is cancelled, the task is cancelled with a
 * `DependencyFailedError` naming it, or, with `onParentFailure: "run"`, runs
 * once all its parents have ended. Its handler sees its parents' outcomes as
 * `ctx.parents`.
 *
 * With a local store this node holds every blocked task and releases it the
 * moment its last parent ends. With a shared store the release happens in
 * SQL (`resolveBlocked`): the node that ends a parent asks for its children
 * at once, and a sweep every second catches what a node that died midway
 * left behind. Cycles cannot be built: a task can only depend on tasks that
 * exist before it (or come earlier in its batch).
 *
 * @module
 */

import { ValidationError } from "../model/errors.ts";
import type { Lifecycle } from "../model/lifecycle.ts";
import { isTerminal, type ParentOutcome, type Task } from "../model/task.ts";
import type { TaskIndex } from "../model/task_index.ts";
import type { SharedTaskStore, StoreChange } from "../store/shared_store.ts";
import type { TaskStore } from "../store/store.ts";
import type { StoreWriter } from "../store/store_writer.ts";
import { attachParents, dependencyFailed, outcomeOf } from "./parent_outcomes.ts";

/** How often a shared store's blocked tasks are looked over, and how many at a time. */
const SWEEP_MS = 1_000;
const SWEEP_PAGE = 500;
/** How long after this node last made a blocked task it keeps asking for children at every end. */
const RECENT_MS = 10_000;
const FIRST_ID = "00000000-0000-0000-0000-000000000000";

/** What dependencies need from the engine. */
export interface DependencyParts {
  store: TaskStore;
  /** The shared store, or `null` for a local one. */
  shared: SharedTaskStore | null;
  lifecycle: Lifecycle;
  writer: StoreWriter;
  /** Unfinished tasks this node holds, by id. */
  live: TaskIndex<Task>;
  /** `task` (held here) just moved to `queued` or `scheduled`: queue it. */
  place(task: Task, now: number): void;
  /** Changes a shared store made: announce them. */
  applied(changes: StoreChange[]): void;
  /** Blocked tasks across the cluster (a shared store's recent count). */
  blockedInCluster(): Promise<number>;
}

/** A blocked task this node holds (local stores). */
interface Waiting {
  task: Task;
  /** Parents not ended yet. */
  pending: Set<string>;
  /** Outcomes of the parents that have ended, by id. */
  outcomes: Map<string, ParentOutcome>;
  /** Parents that had ended before it was submitted are being read. */
  loading: boolean;
}

/**
 * Blocks, releases and cancels dependent tasks.
 *
 * @example
 * ```ts ignore
 * const dependencies = new Dependencies(parts);
 * await dependencies.check(tasks, batch);   // before insert
 * dependencies.admitted(created);           // after
 * ```
 */
export class Dependencies {
  #parts: DependencyParts;
  /** Blocked tasks held here, by id (local stores). */
  #blocked = new Map<string, Waiting>();
  /** Blocked tasks waiting on each parent, by the parent's id (local stores). */
  #children = new Map<string, Set<Waiting>>();
  /** Parents that ended here since the last ask (shared stores). */
  #ended: string[] = [];
  #asking = false;
  #lastBlockedAt = 0;
  #cursor = FIRST_ID;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(parts: DependencyParts) {
    this.#parts = parts;
  }

  /** Blocked tasks this node holds (a local store's; a shared store's are counted by it). */
  get blocked(): number {
    return this.#blocked.size;
  }

  /** Starts the sweep (shared stores). */
  start(): void {
    if (this.#parts.shared === null) return;
    this.#timer = setInterval(() => this.#sweep(), SWEEP_MS);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  /**
   * Resolves batch references (`"#2"`) in `tasks` to ids and checks that
   * every parent named exists; throws a `ValidationError` naming the field.
   * New tasks with parents become `blocked`.
   */
  async check(tasks: Task[], prefixes: string[]): Promise<void> {
    const outside = new Map<string, string>();
    const keyed: { parents: string[]; k: number; key: string }[] = [];
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i];
      const parents = task.dependsOn;
      if (parents === undefined) continue;
      for (let k = 0; k < parents.length; k++) {
        const ref = parents[k];
        if (ref.startsWith("#")) {
          const parent = tasks[Number(ref.slice(1))];
          parents[k] = parent.id;
          // A task of the batch with a known idempotency key is the existing one.
          if (parent.idempotencyKey !== null) {
            keyed.push({ parents, k, key: parent.idempotencyKey });
          }
          continue;
        }
        if (!this.#parts.live.has(ref) && !outside.has(ref)) {
          outside.set(ref, `${prefixes[i]}dependsOn[${k}]`);
        }
      }
      task.status = "blocked";
    }
    for (const { parents, k, key } of keyed) {
      const existing = await this.#parts.store.getByIdempotencyKey(key);
      if (existing !== undefined) parents[k] = existing.id;
    }
    if (outside.size === 0) return;
    const found = new Set((await this.#parts.store.getMany([...outside.keys()])).map((t) => t.id));
    for (const [id, field] of outside) {
      if (!found.has(id)) {
        throw new ValidationError(
          `Field ${field} names no task: received ${JSON.stringify(id)}.`,
          field,
        );
      }
    }
  }

  /** Tasks just created blocked: follow their parents. */
  admitted(tasks: Task[]): void {
    const blocked = tasks.filter((task) => task.status === "blocked");
    if (blocked.length === 0) return;
    this.#lastBlockedAt = Date.now();
    if (this.#parts.shared !== null) {
      // Their parents may have ended already: the store releases what it can now.
      this.#resolveShared({ children: blocked.map((task) => task.id) });
      return;
    }
    for (const task of blocked) this.#follow(task);
  }

  /** A local store's blocked tasks at start: follow them again. */
  recover(tasks: Task[]): void {
    for (const task of tasks) if (task.status === "blocked") this.#follow(task);
  }

  /**
   * Reads the outcomes of the parents of `tasks` (ready to run, with
   * `dependsOn`) for `ctx.parents`; call before they can be handed to workers.
   */
  async loadParents(tasks: Task[]): Promise<void> {
    const dependent = tasks.filter((task) => task.dependsOn !== undefined);
    if (dependent.length === 0) return;
    const ids = new Set<string>();
    for (const task of dependent) for (const id of task.dependsOn!) ids.add(id);
    const parents = new Map(
      (await this.#parts.store.getMany([...ids])).map((parent) => [parent.id, parent]),
    );
    for (const task of dependent) {
      const outcomes: ParentOutcome[] = [];
      for (const id of task.dependsOn!) {
        const parent = parents.get(id);
        if (parent !== undefined) outcomes.push(outcomeOf(parent));
      }
      attachParents(task, outcomes);
    }
  }

  /** The lifecycle's `ended` hook: `task` reached a terminal status. */
  ended(task: Task): void {
    if (this.#parts.shared !== null) {
      this.#endedShared(task.id);
      return;
    }
    // Looking in empty maps would still hash the id: most engines have no dependencies.
    if (this.#blocked.size === 0 && this.#children.size === 0) return;
    const own = this.#blocked.get(task.id);
    if (own !== undefined) this.#forget(own); // cancelled while blocked
    const children = this.#children.get(task.id);
    if (children === undefined) return;
    this.#children.delete(task.id);
    const outcome = outcomeOf(task);
    for (const waiting of children) {
      waiting.pending.delete(task.id);
      waiting.outcomes.set(task.id, outcome);
      this.#decide(waiting);
    }
  }

  /** Starts following a blocked task: each parent that has not ended tells it when it does. */
  #follow(task: Task): void {
    const waiting: Waiting = { task, pending: new Set(), outcomes: new Map(), loading: false };
    this.#blocked.set(task.id, waiting);
    const ended: string[] = [];
    for (const id of task.dependsOn ?? []) {
      const parent = this.#parts.live.get(id);
      // A local store's unfinished tasks are all held here: any other has ended.
      if (parent === undefined || isTerminal(parent.status)) {
        ended.push(id);
        continue;
      }
      waiting.pending.add(id);
      let children = this.#children.get(id);
      if (children === undefined) this.#children.set(id, children = new Set());
      children.add(waiting);
    }
    if (ended.length === 0) return;
    waiting.loading = true;
    this.#readEnded(waiting, ended).catch((error) => {
      console.error(`ThreadFlow could not read the parents of task ${task.id}:`, error);
    });
  }

  async #readEnded(waiting: Waiting, ids: string[]): Promise<void> {
    // Their last writes may still be on their way to the store.
    await this.#parts.writer.settled();
    for (const parent of await this.#parts.store.getMany(ids)) {
      waiting.outcomes.set(parent.id, outcomeOf(parent));
    }
    waiting.loading = false;
    if (this.#blocked.get(waiting.task.id) === waiting) this.#decide(waiting);
  }

  /** Cancels, releases, or leaves `waiting` blocked, by what its parents did. */
  #decide(waiting: Waiting): void {
    if (waiting.loading) return;
    const { task } = waiting;
    if (task.status !== "blocked") return this.#forget(waiting);
    const failed = [...waiting.outcomes.values()].find((outcome) =>
      outcome.status === "failed" || outcome.status === "cancelled"
    );
    if (failed !== undefined && (task.onParentFailure ?? "cancel") === "cancel") {
      this.#forget(waiting);
      this.#parts.lifecycle.move(task, "cancelled", {
        finishedAt: Date.now(),
        error: dependencyFailed(failed),
      });
      return;
    }
    if (waiting.pending.size > 0) return;
    this.#forget(waiting);
    const outcomes: ParentOutcome[] = [];
    for (const id of task.dependsOn ?? []) {
      const outcome = waiting.outcomes.get(id);
      if (outcome !== undefined) outcomes.push(outcome);
    }
    attachParents(task, outcomes);
    const now = Date.now();
    if (task.runAt > now) this.#parts.lifecycle.move(task, "scheduled");
    else this.#parts.lifecycle.move(task, "queued", { runAt: now });
    this.#parts.place(task, now);
  }

  #forget(waiting: Waiting): void {
    this.#blocked.delete(waiting.task.id);
    for (const id of waiting.pending) {
      const children = this.#children.get(id);
      children?.delete(waiting);
      if (children?.size === 0) this.#children.delete(id);
    }
  }

  // --- shared stores --------------------------------------------------------

  #endedShared(id: string): void {
    this.#ended.push(id);
    if (!this.#asking) void this.#askForChildren();
  }

  /** Asks the store to release the children of the parents that ended here. */
  async #askForChildren(): Promise<void> {
    this.#asking = true;
    try {
      while (this.#ended.length > 0 && !this.#closed) {
        // Cheap when nothing is blocked anywhere: the cluster's counts say so.
        const recent = Date.now() - this.#lastBlockedAt < RECENT_MS;
        if (!recent && await this.#parts.blockedInCluster() === 0) {
          this.#ended = [];
          break;
        }
        // The parents' ends must be in the store before their children are judged.
        await this.#parts.writer.settled();
        const parents = this.#ended.splice(0, 1_000);
        await this.#resolveShared({ parents });
      }
    } catch {
      // The cluster's counts could not be read: the sweep looks at every blocked task.
      this.#ended = [];
    } finally {
      this.#asking = false;
    }
  }

  async #resolveShared(
    scope: { parents: string[] } | { children: string[] } | { after: string; limit: number },
  ): Promise<string | null> {
    try {
      const { changes, lastSeen } = await this.#parts.shared!.resolveBlocked(scope);
      // Cancelled children end here, which asks for their own children in turn.
      if (changes.length > 0 && !this.#closed) this.#parts.applied(changes);
      return lastSeen;
    } catch {
      // The store reports its own health; the sweep looks again.
      return null;
    }
  }

  /** Looks over a page of the cluster's blocked tasks (a node may have died between a parent's end and its children's release). */
  async #sweep(): Promise<void> {
    if (this.#asking || this.#closed) return;
    try {
      if (await this.#parts.blockedInCluster() === 0) return;
    } catch {
      return;
    }
    const lastSeen = await this.#resolveShared({ after: this.#cursor, limit: SWEEP_PAGE });
    this.#cursor = lastSeen ?? FIRST_ID;
  }
}
