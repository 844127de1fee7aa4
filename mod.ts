/**
 * ThreadFlow: a task engine for Deno. Tasks wait in a priority queue and run
 * on a pool of module Web Workers; every change is recorded in a store and
 * announced as an event.
 *
 * @example
 * ```ts
 * import { ThreadFlow } from "./mod.ts";
 * const tf = await ThreadFlow.start({ workers: 2 });
 * const task = await tf.submit({ type: "fib", payload: { n: 30 }, priority: 9 });
 * const done = await tf.wait(task.id); // done.status === "succeeded", done.result === 832040
 * await tf.close();
 * ```
 *
 * @module
 */

export { type CloseOptions, ThreadFlow, type WaitOptions } from "./engine/facade/thread_flow.ts";
export type { ResolvedOptions, ThreadFlowOptions } from "./engine/facade/options.ts";
export {
  DEFAULT_PRIORITY,
  isTerminal,
  MAX_PRIORITY,
  MIN_PRIORITY,
  type ProgressValue,
  type SubmitInput,
  type SubmitResult,
  type Task,
  TASK_STATUSES,
  type TaskError,
  type TaskStatus,
  TERMINAL_STATUSES,
} from "./engine/model/task.ts";
export {
  type EventListener,
  type TaskEvent,
  type TaskEventType,
  TERMINAL_EVENT_TYPES,
  type ThreadFlowEvent,
  type WorkerEvent,
  type WorkerEventType,
  type WorkerInfo,
} from "./engine/model/events.ts";
export {
  ClosedError,
  InvalidOptionError,
  PayloadTooLargeError,
  QueueFullError,
  StoreUnavailableError,
  TaskConflictError,
  TaskNotFoundError,
  ThreadFlowError,
  type ThreadFlowErrorCode,
  TimeoutError,
  UnknownTaskTypeError,
  ValidationError,
  WorkerExitedError,
} from "./engine/model/errors.ts";
export type { EngineStats } from "./engine/facade/stats.ts";
export type { HistogramSnapshot, LatencySummary } from "./engine/facade/histogram.ts";
export type { TaskTypeInfo } from "./engine/pool/task_types.ts";
export type {
  InsertOutcome,
  PruneOptions,
  StatusCounts,
  TaskPage,
  TaskQuery,
  TaskStore,
} from "./engine/store/store.ts";
export { MemoryStore } from "./engine/store/memory_store.ts";
export type { TaskContext, TaskHandler } from "./engine/pool/context.ts";
