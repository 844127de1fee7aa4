/**
 * The task state machine: the one place a task's status changes. Each move is
 * checked against the allowed transitions, counted, queued for the store, and
 * announced with exactly one event.
 *
 * ```text
 *   submit ──┬─► blocked ──(its parents ended)──┐
 *            ├─► scheduled ◄───────────────────┤
 *            │      │ (due)                     │
 *            └─────►├──► queued ◄───────────────┘
 *                   │      ▼
 *                   │   running ──► succeeded
 *                   │      │  └───► failed ─────┐
 *   retry (backoff) └──────┘  └───► cancelled ──┤
 *   manual retry ◄──────────────────────────────┘
 *   (blocked, scheduled and queued tasks can be cancelled too)
 * ```
 *
 * @module
 */

import type { TaskEventType, ThreadFlowEvent } from "./events.ts";
import { type Task, type TaskStatus, TERMINAL_STATUSES } from "./task.ts";
import { emptyCounts, type StatusCounts } from "./task.ts";

/** Where a task may go from each status (`new` is a task being created). */
const ALLOWED: Record<TaskStatus | "new", readonly TaskStatus[]> = {
  new: ["blocked", "scheduled", "queued"],
  blocked: ["scheduled", "queued", "cancelled"],
  scheduled: ["queued", "cancelled"],
  queued: ["running", "cancelled"],
  running: ["succeeded", "failed", "cancelled", "queued", "scheduled"],
  succeeded: [],
  failed: ["queued", "scheduled"],
  cancelled: ["queued", "scheduled"],
};

/** A transition the state machine refuses: a bug in the caller, never user input. */
export class IllegalTransitionError extends Error {
  constructor(task: Task, to: TaskStatus) {
    super(`Task ${task.id} cannot move from ${task.status} to ${to}.`);
    this.name = "IllegalTransitionError";
  }
}

/** Whether the state machine allows `from` → `to`. */
export function canTransition(from: TaskStatus | "new", to: TaskStatus): boolean {
  return ALLOWED[from].includes(to);
}

/**
 * The statuses a task may reach `to` from. Stores build the `WHERE status IN
 * (…)` of their own state changes (claims, sweeps, cancels) from this, so SQL
 * can make no move the state machine would refuse.
 *
 * @example
 * ```ts
 * import { sourcesOf } from "./engine/model/lifecycle.ts";
 * sourcesOf("cancelled"); // ["scheduled", "queued", "running"]
 * ```
 */
export function sourcesOf(to: TaskStatus): TaskStatus[] {
  return (Object.keys(ALLOWED) as Array<TaskStatus | "new">)
    .filter((from): from is TaskStatus => from !== "new" && ALLOWED[from].includes(to));
}

function eventFor(from: TaskStatus | "new", to: TaskStatus): TaskEventType {
  switch (to) {
    case "blocked":
      return "task.blocked";
    case "scheduled":
    case "queued":
      if (from === "new" || from === "blocked") {
        return to === "queued" ? "task.queued" : "task.scheduled";
      }
      if (from === "scheduled") return "task.queued";
      return "task.retrying";
    case "running":
      return "task.started";
    case "succeeded":
      return "task.succeeded";
    case "failed":
      return "task.failed";
    case "cancelled":
      return "task.cancelled";
  }
}

/** What the lifecycle needs from its owner. */
export interface LifecycleHooks {
  /** The task's record changed and must reach the store. */
  changed(task: Task): void;
  /** The task reached a terminal status. */
  ended(task: Task): void;
}

/**
 * Moves tasks between statuses, keeps counts, numbers events and delivers
 * them to listeners.
 */
export class Lifecycle {
  readonly counts: StatusCounts = emptyCounts();
  #seq = 0;
  #listeners: Array<(event: ThreadFlowEvent) => void> = [];
  #hooks: LifecycleHooks;

  constructor(hooks: LifecycleHooks, initialCounts?: StatusCounts) {
    this.#hooks = hooks;
    if (initialCounts) Object.assign(this.counts, initialCounts);
  }

  /** The seq of the last event emitted. */
  get seq(): number {
    return this.#seq;
  }

  get hasListeners(): boolean {
    return this.#listeners.length > 0;
  }

  /** Adds a listener; returns the function that removes it. */
  listen(listener: (event: ThreadFlowEvent) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Records a new task entering its first status (`scheduled` or `queued`). */
  create(task: Task): void {
    const to = task.status;
    if (!canTransition("new", to)) throw new IllegalTransitionError(task, to);
    this.counts[to]++;
    this.#emitTask(eventFor("new", to), task, task.createdAt);
  }

  /**
   * Moves `task` to `to`, applying `patch` first. Throws
   * {@linkcode IllegalTransitionError} when the move is not allowed.
   */
  move(task: Task, to: TaskStatus, patch?: Partial<Task>): void {
    this.#check(task, to);
    if (patch) Object.assign(task, patch);
    this.#moved(task, to, Date.now());
  }

  /**
   * A worker began `task` (queued) at `startedAt`, in slot `workerId` of
   * node `nodeId`: a new attempt runs. The engine's most frequent move,
   * spelled out rather than patched (`Object.assign` of a patch costs more
   * than the rest of the move).
   */
  start(task: Task, startedAt: number, workerId: number, nodeId: string): void {
    this.#check(task, "running");
    task.attempts++;
    task.startedAt = startedAt;
    task.finishedAt = null;
    task.workerId = workerId;
    task.nodeId = nodeId;
    task.progress = null;
    this.#moved(task, "running", startedAt);
  }

  /** `task` (running) returned `result` at `finishedAt`. Like {@linkcode Lifecycle.start}. */
  succeed(task: Task, result: unknown, finishedAt: number): void {
    this.#check(task, "succeeded");
    task.result = result;
    task.error = null;
    task.finishedAt = finishedAt;
    task.progress = 1;
    this.#moved(task, "succeeded", finishedAt);
  }

  #check(task: Task, to: TaskStatus): void {
    if (!canTransition(task.status, to)) throw new IllegalTransitionError(task, to);
  }

  /** Counts, records and announces the move of `task` (its fields set) to `to`, made `at`. */
  #moved(task: Task, to: TaskStatus, at: number): void {
    const from = task.status;
    task.status = to;
    this.counts[from]--;
    this.counts[to]++;
    this.#hooks.changed(task);
    this.#emitTask(eventFor(from, to), task, at);
    if (TERMINAL_STATUSES.has(to)) this.#hooks.ended(task);
  }

  /**
   * Accepts a move a store already made (a shared store's sweep, cancel or
   * a change relayed from another node): checks it against the transition
   * table, counts it and announces it, exactly as {@linkcode Lifecycle.move}
   * would have. `task` is the stored task in its new status. Throws
   * {@linkcode IllegalTransitionError} for a move the table refuses.
   */
  apply(task: Task, from: TaskStatus): void {
    const to = task.status;
    if (!canTransition(from, to)) {
      throw new IllegalTransitionError({ ...task, status: from }, to);
    }
    this.counts[from] = Math.max(0, this.counts[from] - 1);
    this.counts[to]++;
    this.#emitTask(eventFor(from, to), task, Date.now());
    if (TERMINAL_STATUSES.has(to)) this.#hooks.ended(task);
  }

  /** Announces progress (not a status change; the caller throttles). */
  progress(task: Task): void {
    this.#emitTask("task.progress", task, Date.now());
  }

  /** Announces anything else (worker events), numbered like the rest. */
  emit(event: Omit<ThreadFlowEvent, "seq">): void {
    const numbered = { ...event, seq: ++this.#seq } as ThreadFlowEvent;
    this.#deliver(numbered);
  }

  /** Takes the store's counts for these statuses (at start, and after retention deleted rows). */
  recount(counts: Partial<StatusCounts>): void {
    Object.assign(this.counts, counts);
  }

  /** Forgets counts of tasks deleted from the store by retention. */
  forget(status: TaskStatus, count: number): void {
    this.counts[status] = Math.max(0, this.counts[status] - count);
  }

  /** `at` is when the change happened: the task's own times where it has them, not a clock read per event. */
  #emitTask(type: TaskEventType, task: Task, at: number): void {
    const seq = ++this.#seq;
    if (this.#listeners.length === 0) return;
    this.#deliver({ type, seq, at, task: { ...task } });
  }

  #deliver(event: ThreadFlowEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not break the engine or the other listeners.
        console.error("A ThreadFlow event listener threw:", error);
      }
    }
  }
}
