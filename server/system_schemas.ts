/**
 * Zod schemas of the service's figures: `/api/stats` (counts, depth,
 * latencies, throughput) and `/api/workers` (slots, nodes, stuck threads).
 *
 * @module
 */

import { z } from "@hono/zod-openapi";
import { TASK_STATUSES } from "../engine/mod.ts";

const LatencySummarySchema = z.object({
  count: z.number().int(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
  max: z.number(),
}).openapi("LatencySummary", { description: "Percentiles of a latency distribution, in ms." });

const HistogramSnapshotSchema = z.object({
  bounds: z.array(z.number()).openapi({ description: "Upper bounds of the buckets, in ms." }),
  counts: z.array(z.number()).openapi({
    description: "Observations per bucket (not cumulative); the last one is above every bound.",
  }),
  sum: z.number(),
  count: z.number(),
}).openapi("HistogramSnapshot");

const byPriority = <T extends z.ZodType>(value: T, what: string) =>
  z.record(z.string(), value).openapi({ description: `${what}, keyed by priority "1" to "10".` });

/**
 * `EngineStats` (`engine/stats.ts`) as `/api/stats` serves it. Objects take
 * additional properties: the engine may add figures without breaking clients.
 */
export const StatsSchema = z.object({
  nodeId: z.string(),
  store: z.string().openapi({ description: "The task store (its kind and location)." }),
  state: z.enum(["running", "draining", "closed"]),
  uptimeMs: z.number(),
  counts: z.object(
    Object.fromEntries(TASK_STATUSES.map((status) => [status, z.number().int()])),
  ).openapi({ description: "Tasks by status." }),
  queuedByPriority: byPriority(z.number().int(), "Queued tasks"),
  oldestQueuedAgeMs: byPriority(
    z.number().nullable(),
    "Age in ms of the oldest queued task (null when none)",
  ),
  throughput: z.object({
    perSecond: z.array(z.number()).openapi({
      description: "Finished tasks in each of the last 60 seconds, oldest first.",
    }),
    last60s: z.number().openapi({ description: "Their average, per second." }),
  }),
  waitMs: LatencySummarySchema.openapi({ description: "From queued to started." }),
  runMs: LatencySummarySchema.openapi({ description: "Handler run time." }),
  waitMsByPriority: byPriority(LatencySummarySchema, "Wait percentiles"),
  histograms: z.object({ waitMs: HistogramSnapshotSchema, runMs: HistogramSnapshotSchema }),
  workers: z.object({
    total: z.number().int(),
    busy: z.number().int(),
    idle: z.number().int(),
    restarts: z.number().int(),
  }),
}).openapi("Stats");

/** `{ stats }` of `GET /api/stats`. */
export const StatsAnswerSchema = z.object({ stats: StatsSchema }).openapi("StatsAnswer");

const WorkerSchema = z.object({
  id: z.number().int(),
  nodeId: z.string(),
  state: z.enum(["starting", "idle", "busy", "stopped"]),
  taskIds: z.array(z.string()),
  progress: z.number().nullable(),
  completed: z.number().int(),
  failed: z.number().int(),
  restarts: z.number().int(),
  startedAt: z.number(),
  isolation: z.enum(["thread", "process"]).optional().openapi({
    description: "Where its tasks run: a thread of the service or a worker process.",
  }),
  pid: z.number().int().nullable().optional().openapi({
    description: "The worker process's id; null for a thread.",
  }),
  cpuPercent: z.number().nullable().optional().openapi({
    description: "CPU use since the previous listing (at least 1 s before), % of one core.",
  }),
  cpuMs: z.number().nullable().optional().openapi({
    description: "CPU time of the current worker, ms; null where it cannot be read.",
  }),
  memoryBytes: z.number().nullable().optional().openapi({
    description:
      "Resident memory of a worker process; null for a thread (it shares the service's).",
  }),
}).openapi("Worker");

const StuckThreadSchema = z.object({
  tid: z.number().int(),
  slot: z.number().int(),
  types: z.array(z.string()),
  terminatedAt: z.number(),
  cpuPercent: z.number(),
}).openapi("StuckThread");

/** `{ workers, nodes, stuckThreads }` of `GET /api/workers`. */
export const WorkersAnswerSchema = z.object({
  workers: z.array(WorkerSchema).openapi({ description: "This node's worker slots." }),
  nodes: z.array(z.object({ nodeId: z.string(), workers: z.array(WorkerSchema) })).openapi({
    description: "Every live node sharing the store (this one first) with its workers.",
  }),
  stuckThreads: z.array(StuckThreadSchema).openapi({
    description: "Terminated worker threads of this node still running (each holds a core " +
      'until the service exits); the types they ran now run in worker processes (isolation "process").',
  }),
}).openapi("WorkersAnswer");
