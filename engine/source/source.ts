/**
 * The seam between "where the next task comes from" and the engine loop.
 *
 * A *local* source (memory and SQLite stores) keeps the ready queue and the
 * delay heap in this process. A *claimed* source (PostgreSQL) leaves them in
 * the database and claims ready tasks under leases into a small local
 * buffer. Above the seam everything is written once: admission and
 * `maxQueued`, priority order and aging, dispatch to the pool, retries,
 * cancel, stats and events behave the same on every store.
 *
 * @module
 */

import type { ThreadFlowEvent, WorkerInfo } from "../model/events.ts";
import type { StatusCounts, Task } from "../model/task.ts";
import type { StoreChange } from "../store/shared_store.ts";
import type { ClaimControls } from "./cluster.ts";
import type { TypeFilter } from "./typed_queue.ts";

export type { StoreChange };

/** Ready tasks per priority and the age of each level's oldest, as stats show them. */
export interface QueueDepth {
  /** Queued tasks per level, keyed "1".."10". */
  queuedByPriority: Record<string, number>;
  /** When each level's oldest queued task became ready (ms since epoch), or `null`. */
  oldestQueuedAt: Record<string, number | null>;
}

/** What a source needs from the engine loop. */
export interface SourceHooks {
  /** Tasks this node now holds (claimed) are ready in the source: give workers their share. */
  ready(held: Task[]): void;
  /**
   * Claimed tasks that depend on others: read their parents' outcomes; they
   * join the ready tasks once this resolves.
   */
  prepare(tasks: Task[]): Promise<void>;
  /** Scheduled tasks came due here (local delay heap): move them to `queued`. */
  due(tasks: Task[]): void;
  /** Changes the store made itself (promotions, reclaimed leases): announce them. */
  applied(changes: StoreChange[]): void;
  /** This node no longer holds these tasks (another node took or cancelled them): drop their runs quietly. */
  lost(ids: string[]): void;
  /** This node gave these waiting tasks back to the store, unstarted: forget them. */
  released(tasks: Task[]): void;
  /** An event another node emitted. */
  remoteEvent(event: ThreadFlowEvent): void;
  /** Types a claimed source claims apart (limited) or not at all (paused). */
  controls(): ClaimControls;
  /** How many more tasks this node's workers could start or hold ahead now. */
  wanted(): number;
  /** This node's workers (heartbeats carry them). */
  workers(): WorkerInfo[];
}

/** Where the engine loop takes its next task from. */
export interface TaskSource {
  /** `true` when the queue lives in a store shared with other nodes. */
  readonly shared: boolean;
  /** Ready tasks held here, not yet handed to a worker. */
  readonly size: number;
  /** Starts timers and listeners (a claimed source joins the cluster and claims). */
  start(): Promise<void>;
  /**
   * Workers have room again (`freed`: a task of that type ended or came
   * back): a claimed source claims more.
   */
  refill(freed?: string): void;
  /** The most urgent ready task of a type `allowed` to start, without taking it. */
  peek(now: number, allowed: TypeFilter): Task | undefined;
  /** Takes the task {@linkcode TaskSource.peek} returned (given the same filter). */
  take(now: number, allowed: TypeFilter): Task;
  /**
   * A type's control changed: a claimed source gives back the tasks of that
   * type it holds unstarted, to be claimed again under the new rules.
   */
  controlsChanged(type: string): void;
  /** Tasks taken and never started, back to the front in this order. */
  giveBack(tasks: Task[]): void;
  /**
   * `task` was just created by this node (`queued` or `scheduled`). Returns
   * whether this node holds it now (a claimed source leaves new tasks to
   * whichever node claims them, this one included).
   */
  admit(task: Task, now: number): boolean;
  /**
   * `task`, held by this node, was just moved to `queued` or `scheduled`
   * (a retry, a requeue) or recovered at start. Returns whether this node
   * still holds it (a claimed source keeps a requeued task it holds a lease
   * on, and gives up a scheduled one).
   */
  place(task: Task, now: number): boolean;
  /**
   * Forgets a task waiting here (cancelled or lost): a scheduled one, or a
   * queued one no worker holds. The caller knows it is here.
   */
  remove(task: Task): void;
  /**
   * Cancels a task this node does not hold, in the store; returns the change
   * (to announce), or `undefined` when the task is finished or missing.
   */
  cancelElsewhere(id: string, error: Task["error"]): Promise<StoreChange | undefined>;
  /**
   * Waiting tasks (queued and scheduled) counted against `maxQueued`:
   * `pending` are held by workers unstarted (local sources count them;
   * a shared store counts them already), `reserved` are being inserted.
   * A shared store's figure may be a moment old; `fresh` reads it anew.
   */
  waiting(pending: number, reserved: number, fresh?: boolean): number | Promise<number>;
  /** Counts by status: this engine's own (local) or the cluster's (shared). */
  counts(local: StatusCounts): StatusCounts | Promise<StatusCounts>;
  /** Queue depth per level; `pending` is that of tasks handed to workers and not started. */
  depth(pending: QueueDepth): QueueDepth | Promise<QueueDepth>;
  /** Publishes a local event to other nodes (shared sources; local ones do nothing). */
  publish(event: ThreadFlowEvent): void;
  /** Ready tasks held here of `type`. */
  sizeOf(type: string): number;
  /** `false` while a shared store is unreachable. */
  readonly healthy: boolean;
  /** Gives held tasks back to the store (shutdown) and stops timers. */
  close(held: Task[]): Promise<void>;
}
