/**
 * The part of the engine the service uses. `ThreadFlow` from `mod.ts`
 * satisfies it; naming only what the HTTP and WebSocket layers call keeps them
 * honest about their dependencies.
 *
 * @module
 */

import type {
  EventListener,
  PrunedListener,
  Schedule,
  ScheduleChange,
  ScheduleInput,
  StuckThread,
  SubmitInput,
  SubmitResult,
  Task,
  TaskPage,
  TaskQuery,
  TaskStore,
  TaskTypeStats,
  TypeControl,
  TypeLimits,
  WorkerInfo,
} from "../engine/mod.ts";
import type { EngineStats, HistogramSnapshot, LatencySummary, TaskTypeInfo } from "../mod.ts";

export type { EngineStats, HistogramSnapshot, LatencySummary, TaskTypeInfo };

/** One node's workers; with a shared store, every live node is listed. */
export interface NodeWorkers {
  nodeId: string;
  workers: WorkerInfo[];
}

/** The schedule operations the service calls (`tf.schedules`). */
export interface ServiceSchedules {
  create(input: ScheduleInput): Promise<Schedule>;
  get(name: string): Promise<Schedule | undefined>;
  list(): Promise<Schedule[]>;
  update(name: string, change: ScheduleChange): Promise<Schedule>;
  delete(name: string): Promise<Schedule>;
}

/** The engine operations the service calls. */
export interface ServiceEngine {
  readonly nodeId: string;
  readonly state: "running" | "draining" | "closed";
  /** `false` while a shared store is unreachable. */
  readonly healthy: boolean;
  /** While a listener runs: whether its event was relayed from another node. */
  readonly relaying: boolean;
  readonly store: TaskStore;
  readonly schedules: ServiceSchedules;
  submit(input: SubmitInput): Promise<Task>;
  submitBatch(inputs: SubmitInput[], options: { outcomes: true }): Promise<SubmitResult[]>;
  get(id: string): Promise<Task | undefined>;
  list(query: TaskQuery): Promise<TaskPage>;
  /** The tasks that depend on `id`, newest first. */
  dependents(id: string, options?: { limit?: number }): Promise<Task[]>;
  wait(id: string, options?: { signal?: AbortSignal }): Promise<Task>;
  cancel(id: string): Promise<Task>;
  retry(id: string): Promise<Task>;
  stats(): Promise<EngineStats>;
  workers(): WorkerInfo[];
  /** Terminated worker threads still running (Deno cannot stop a thread busy in a loop). */
  stuckThreads(): StuckThread[];
  /** This node's workers first, then those of the other live nodes sharing the store. */
  nodes(): Promise<NodeWorkers[]>;
  taskTypes(): TaskTypeInfo[];
  hasTaskType(name: string): boolean;
  /** Each type's tasks by status and its last hour's figures on this node. */
  typeStats(): Promise<TaskTypeStats[]>;
  typeControls(): TypeControl[];
  typeControl(type: string): TypeControl;
  setTypeLimits(type: string, limits: TypeLimits | null): Promise<TypeControl>;
  pauseType(type: string): Promise<TypeControl>;
  resumeType(type: string): Promise<TypeControl>;
  on(listener: EventListener): () => void;
  /** Told when retention deleted finished tasks (which emits no event). */
  onPruned(listener: PrunedListener): () => void;
  close(options?: { drainMs?: number }): Promise<void>;
}
