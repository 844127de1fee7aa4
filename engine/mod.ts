/**
 * The engine's public face: everything the service, the dashboard and the
 * library's `mod.ts` use from `engine/`. Code outside `engine/` imports from
 * here only, so the engine's files can move without touching its users.
 *
 * @example
 * ```ts
 * import { ThreadFlow } from "./engine/mod.ts";
 * const tf = await ThreadFlow.start({ workers: 1 });
 * await tf.close();
 * ```
 *
 * @module
 */

export {
  type CloseOptions,
  type NodeWorkers,
  type SubmitBatchOptions,
  type TaskTypeStats,
  ThreadFlow,
  type WaitOptions,
} from "./facade/thread_flow.ts";
export { describe, type ResolvedOptions, type ThreadFlowOptions } from "./facade/options.ts";
export type { EngineStats } from "./facade/stats.ts";
export type { TaskTypeFigures } from "./facade/type_stats.ts";
export type { HistogramSnapshot, LatencySummary } from "./facade/histogram.ts";
export {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_QUEUED,
  DEFAULT_PAGE_SIZE,
  DEFAULT_PRIORITY,
  DEFAULT_TIMEOUT_MS,
  MAX_ATTEMPTS,
  MAX_BATCH,
  MAX_DELAY_MS,
  MAX_DEPENDENCIES,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_PAGE_SIZE,
  MAX_PRIORITY,
  MAX_TIMEOUT_MS,
  MAX_TYPE_LIMIT,
  MIN_PRIORITY,
} from "./model/limits.ts";
export { idPrefixRange } from "./model/id.ts";
export {
  decodeCursor,
  normalizeQuery,
  type StoreQuery,
  TASK_SORTS,
  type TaskPage,
  type TaskQuery,
  type TaskSort,
} from "./model/query.ts";
export {
  type AttemptOutcome,
  attemptTimeline,
  emptyCounts,
  isTerminal,
  MAX_ATTEMPT_HISTORY,
  type ParentFailurePolicy,
  type ParentOutcome,
  type ProgressValue,
  type StatusCounts,
  type SubmitInput,
  type SubmitResult,
  type Task,
  TASK_STATUSES,
  type TaskAttempt,
  type TaskError,
  type TaskScheduleRef,
  type TaskStatus,
  TERMINAL_STATUSES,
} from "./model/task.ts";
export {
  type EventListener,
  type PrunedListener,
  type ScheduleEvent,
  type ScheduleEventType,
  type TaskEvent,
  type TaskEventType,
  TERMINAL_EVENT_TYPES,
  type ThreadFlowEvent,
  type TypeEvent,
  type TypeEventType,
  type WorkerEvent,
  type WorkerEventType,
  type WorkerInfo,
} from "./model/events.ts";
export {
  ClosedError,
  InvalidOptionError,
  OutOfMemoryError,
  PayloadTooLargeError,
  QueueFullError,
  ScheduleExistsError,
  ScheduleNotFoundError,
  StoreUnavailableError,
  TaskConflictError,
  TaskNotFoundError,
  ThreadFlowError,
  type ThreadFlowErrorCode,
  TimeoutError,
  UnknownTaskTypeError,
  ValidationError,
  WorkerExitedError,
} from "./model/errors.ts";
export { normalizeLimits, type TypeControl, type TypeLimits } from "./model/type_controls.ts";
export {
  MAX_CATCH_UP_TICKS,
  MAX_SCHEDULE_PAYLOAD_BYTES,
  MISSED_AFTER_MS,
  type Schedule,
  type ScheduleAdvance,
  type ScheduleCatchUp,
  type ScheduleChange,
  type ScheduleInput,
  type ScheduleOverlap,
  type ScheduleTask,
  type ScheduleUpdate,
  type StoredSchedule,
} from "./model/schedule.ts";
export { Schedules } from "./facade/schedules.ts";
export type { TaskTypeInfo } from "./pool/task_types.ts";
export type { StuckThread } from "./pool/stuck_threads.ts";
export type { Isolation } from "./pool/worker_handle.ts";
export type { TaskContext, TaskHandler } from "./pool/context.ts";
export {
  DEFAULT_SQLITE_PATH,
  type InsertOutcome,
  MemoryStore,
  openStore,
  PostgresStore,
  type PostgresStoreOptions,
  type PruneOptions,
  type SharedTaskStore,
  SqliteStore,
  type SqliteStoreOptions,
  type TaskStore,
} from "./store/mod.ts";
