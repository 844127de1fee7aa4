/**
 * The engine's typed event stream.
 *
 * @module
 */

import type { Task } from "./task.ts";
import type { Schedule } from "./schedule.ts";
import type { TypeControl } from "./type_controls.ts";

/** Events about one task. Every status change emits exactly one of these. */
export type TaskEventType =
  | "task.blocked"
  | "task.scheduled"
  | "task.queued"
  | "task.started"
  | "task.progress"
  | "task.retrying"
  | "task.succeeded"
  | "task.failed"
  | "task.cancelled";

/** Events about a worker slot. */
export type WorkerEventType = "worker.started" | "worker.exited";

/** The task events that end a task. */
export const TERMINAL_EVENT_TYPES: ReadonlySet<TaskEventType> = new Set<TaskEventType>([
  "task.succeeded",
  "task.failed",
  "task.cancelled",
]);

/** A task changed. `task` is a snapshot taken when the event was emitted. */
export interface TaskEvent {
  type: TaskEventType;
  /** Grows by one with every event this engine emits. */
  seq: number;
  /** When it happened, ms since epoch. */
  at: number;
  task: Task;
}

/** A worker slot's worker started or exited. */
export interface WorkerEvent {
  type: WorkerEventType;
  seq: number;
  at: number;
  worker: WorkerInfo;
  /** Why it exited (`timeout`, `cancel-grace`, `crashed: …`, `closed`, `shutdown`). */
  reason?: string;
}

/** Events about a task type's controls. */
export type TypeEventType = "type.paused" | "type.resumed" | "type.limits_changed";

/** A task type was paused or resumed, or its limits changed (on any node of a cluster). */
export interface TypeEvent {
  type: TypeEventType;
  seq: number;
  at: number;
  /** The type's control after the change. */
  control: TypeControl;
}

/** Events about a schedule. */
export type ScheduleEventType =
  | "schedule.created"
  | "schedule.updated"
  | "schedule.paused"
  | "schedule.resumed"
  | "schedule.deleted"
  | "schedule.fired"
  | "schedule.skipped";

/**
 * A schedule was created, changed, paused, resumed or deleted, fired a task,
 * or skipped a tick (overlap `skip` while its last task ran), on any node.
 */
export interface ScheduleEvent {
  type: ScheduleEventType;
  seq: number;
  at: number;
  /** The schedule's name. */
  name: string;
  /** The schedule after the change (before it, for `schedule.deleted`). */
  schedule: Schedule;
  /** The tick fired or skipped, ms since epoch (`schedule.fired`, `schedule.skipped`). */
  tick?: number;
  /** The task submitted (`schedule.fired`), or the unfinished one (`schedule.skipped`). */
  taskId?: string;
  /** The node that fired or skipped the tick (`schedule.fired`, `schedule.skipped`). */
  nodeId?: string;
}

/** Anything the engine emits. */
export type ThreadFlowEvent = TaskEvent | WorkerEvent | TypeEvent | ScheduleEvent;

/** A listener for {@linkcode ThreadFlowEvent}s. */
export type EventListener = (event: ThreadFlowEvent) => void;

/** Told after retention deleted finished tasks (which emits no event), with how many. */
export type PrunedListener = (deleted: number) => void;

/** State of one worker slot. */
export interface WorkerInfo {
  /** Slot number, from 0. Stable across restarts of the slot's worker. */
  id: number;
  /** Node the worker belongs to. */
  nodeId: string;
  state: "starting" | "idle" | "busy" | "stopped";
  /** Ids of the tasks the worker holds now. */
  taskIds: string[];
  /** Progress of the first task it holds, 0–1, or `null`. */
  progress: number | null;
  completed: number;
  failed: number;
  /** How many times this slot's worker was replaced. */
  restarts: number;
  startedAt: number;
  /** Where its tasks run: a thread of the service, or a process of their own. */
  isolation?: "thread" | "process";
  /** The worker process's id, or `null` for a thread. */
  pid?: number | null;
  /** CPU use of the worker over the last second or more, percent of one core (listings only). */
  cpuPercent?: number | null;
  /** CPU time of the current worker, ms (listings only; `null` where `/proc` is unreadable). */
  cpuMs?: number | null;
  /** Resident memory of a worker process, bytes; `null` for a thread (listings only). */
  memoryBytes?: number | null;
}
