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

export {
  ClosedError,
  type CloseOptions,
  DEFAULT_PRIORITY,
  DEFAULT_SQLITE_PATH,
  type EngineStats,
  type EventListener,
  type HistogramSnapshot,
  type InsertOutcome,
  InvalidOptionError,
  isTerminal,
  type LatencySummary,
  MAX_PRIORITY,
  MemoryStore,
  MIN_PRIORITY,
  type NodeWorkers,
  openStore,
  type ParentFailurePolicy,
  type ParentOutcome,
  PayloadTooLargeError,
  PostgresStore,
  type PostgresStoreOptions,
  type ProgressValue,
  type PruneOptions,
  QueueFullError,
  type ResolvedOptions,
  type Schedule,
  type ScheduleCatchUp,
  type ScheduleChange,
  type ScheduleEvent,
  type ScheduleEventType,
  ScheduleExistsError,
  type ScheduleInput,
  ScheduleNotFoundError,
  type ScheduleOverlap,
  Schedules,
  type ScheduleTask,
  SqliteStore,
  type SqliteStoreOptions,
  type StatusCounts,
  StoreUnavailableError,
  type SubmitBatchOptions,
  type SubmitInput,
  type SubmitResult,
  type Task,
  TASK_STATUSES,
  TaskConflictError,
  type TaskContext,
  type TaskError,
  type TaskEvent,
  type TaskEventType,
  type TaskHandler,
  TaskNotFoundError,
  type TaskPage,
  type TaskQuery,
  type TaskScheduleRef,
  type TaskStatus,
  type TaskStore,
  type TaskTypeInfo,
  TERMINAL_EVENT_TYPES,
  TERMINAL_STATUSES,
  ThreadFlow,
  ThreadFlowError,
  type ThreadFlowErrorCode,
  type ThreadFlowEvent,
  type ThreadFlowOptions,
  TimeoutError,
  type TypeControl,
  type TypeEvent,
  type TypeEventType,
  type TypeLimits,
  UnknownTaskTypeError,
  ValidationError,
  type WaitOptions,
  type WorkerEvent,
  type WorkerEventType,
  WorkerExitedError,
  type WorkerInfo,
} from "./engine/mod.ts";
