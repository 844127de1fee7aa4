/**
 * The engine's public face: everything the service, the dashboard and the
 * library's `mod.ts` use from `engine/`. Code outside `engine/` imports from
 * here only, so the engine's files can move without touching its users.
 *
 * @example
 * ```ts
 * import { ThreadFlow } from "./mod.ts";
 * const tf = await ThreadFlow.start({ workers: 1 });
 * await tf.close();
 * ```
 *
 * @module
 */

export {
  type CloseOptions,
  type NodeWorkers,
  ThreadFlow,
  type WaitOptions,
} from "./facade/thread_flow.ts";
export {
  describe,
  MAX_ATTEMPTS,
  MAX_TIMEOUT_MS,
  type ResolvedOptions,
  type ThreadFlowOptions,
} from "./facade/options.ts";
export { MAX_DELAY_MS, MAX_IDEMPOTENCY_KEY_LENGTH } from "./facade/submit.ts";
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
} from "./model/task.ts";
export {
  type EventListener,
  type TaskEvent,
  type TaskEventType,
  TERMINAL_EVENT_TYPES,
  type ThreadFlowEvent,
  type WorkerEvent,
  type WorkerEventType,
  type WorkerInfo,
} from "./model/events.ts";
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
} from "./model/errors.ts";
export type { EngineStats } from "./facade/stats.ts";
export type { HistogramSnapshot, LatencySummary } from "./facade/histogram.ts";
export type { TaskTypeInfo } from "./pool/task_types.ts";
export {
  decodeCursor,
  DEFAULT_SQLITE_PATH,
  type InsertOutcome,
  MemoryStore,
  openStore,
  PostgresStore,
  type PostgresStoreOptions,
  type PruneOptions,
  SqliteStore,
  type SqliteStoreOptions,
  type StatusCounts,
  type TaskPage,
  type TaskQuery,
  type TaskStore,
} from "./store/mod.ts";
