/**
 * Task counters for `/metrics`: tasks submitted and ended, and schedule
 * ticks, counted from the engine's events so `rate()` works on them.
 *
 * @module
 */

import {
  TASK_STATUSES,
  type TaskStatus,
  TERMINAL_STATUSES,
  type ThreadFlowEvent,
} from "../engine/mod.ts";
import { labels } from "./prometheus_text.ts";

/**
 * Counts tasks submitted (by type) and finished (by type and status) from
 * the engine's events, as counters for `rate()`. With a shared store every
 * node sees every node's events, so each node counts the whole cluster's tasks.
 *
 * @example
 * ```ts ignore
 * const counters = new TaskCounters(engine.taskTypes().map((t) => t.name));
 * engine.on((event) => counters.observe(event));
 * ```
 */
export class TaskCounters {
  #submitted = new Map<string, number>();
  #finished = new Map<string, Map<TaskStatus, number>>();
  /** Ticks this node fired or skipped, by schedule then outcome. */
  #ticks = new Map<string, { fired: number; skipped: number }>();
  #nodeId: string | undefined;
  #relayed: () => boolean;

  /**
   * Starts every known type's series at 0, so `rate()` sees their first
   * tasks. On a cluster every node sees every event, relayed: each counts
   * only its own, so the counters sum over nodes. `nodeId` is this node's
   * (schedule ticks are counted by the node that fired them); `relayed`
   * tells, while a listener runs, whether the event came from another node.
   */
  constructor(
    types: readonly string[] = [],
    options: { nodeId?: string; relayed?: () => boolean } = {},
  ) {
    for (const type of types) this.#typeSeries(type);
    this.#nodeId = options.nodeId;
    this.#relayed = options.relayed ?? (() => false);
  }

  /**
   * Counts a new task (`task.scheduled`, or `task.queued` of a task never
   * scheduled), every end, and each schedule tick this node fired or skipped.
   */
  observe(event: ThreadFlowEvent): void {
    if ("schedule" in event) {
      if (event.type !== "schedule.fired" && event.type !== "schedule.skipped") return;
      if (event.nodeId !== this.#nodeId) return;
      const ticks = this.#ticks.get(event.name) ?? { fired: 0, skipped: 0 };
      ticks[event.type === "schedule.fired" ? "fired" : "skipped"]++;
      this.#ticks.set(event.name, ticks);
      return;
    }
    if (!("task" in event) || this.#relayed()) return;
    const { task } = event;
    if (event.type === "task.scheduled" || event.type === "task.queued") {
      // A scheduled task coming due is queued too; only a task that never waited for its time
      // (runAt is its creation) enters the queue new. Retries are `task.retrying`.
      if (event.type === "task.scheduled" || task.runAt <= task.createdAt) {
        this.#typeSeries(task.type);
        this.#submitted.set(task.type, (this.#submitted.get(task.type) ?? 0) + 1);
      }
      return;
    }
    if (TERMINAL_STATUSES.has(task.status) && event.type === `task.${task.status}`) {
      const byStatus = this.#typeSeries(task.type);
      byStatus.set(task.status, (byStatus.get(task.status) ?? 0) + 1);
    }
  }

  /** Tasks of `type` submitted so far (for tests). */
  submitted(type: string): number {
    return this.#submitted.get(type) ?? 0;
  }

  /** Tasks of `type` that ended in `status` so far (for tests). */
  finished(type: string, status: TaskStatus): number {
    return this.#finished.get(type)?.get(status) ?? 0;
  }

  /** The counters in Prometheus text format. */
  lines(): string[] {
    const lines = [
      "# HELP threadflow_tasks_submitted_total Tasks submitted, by type.",
      "# TYPE threadflow_tasks_submitted_total counter",
    ];
    for (const [type, count] of this.#submitted) {
      lines.push(`threadflow_tasks_submitted_total${labels({ type })} ${count}`);
    }
    lines.push(
      "# HELP threadflow_tasks_finished_total Tasks that ended, by type and final status.",
      "# TYPE threadflow_tasks_finished_total counter",
    );
    for (const [type, byStatus] of this.#finished) {
      for (const [status, count] of byStatus) {
        lines.push(`threadflow_tasks_finished_total${labels({ type, status })} ${count}`);
      }
    }
    lines.push(
      "# HELP threadflow_schedule_ticks_total Schedule ticks this node fired (a task submitted) " +
        "or skipped (overlap skip), by schedule.",
      "# TYPE threadflow_schedule_ticks_total counter",
    );
    for (const [schedule, ticks] of this.#ticks) {
      for (const outcome of ["fired", "skipped"] as const) {
        lines.push(
          `threadflow_schedule_ticks_total${labels({ schedule, outcome })} ${ticks[outcome]}`,
        );
      }
    }
    return lines;
  }

  #typeSeries(type: string): Map<TaskStatus, number> {
    let byStatus = this.#finished.get(type);
    if (byStatus === undefined) {
      byStatus = new Map(
        TASK_STATUSES.filter((status) => TERMINAL_STATUSES.has(status)).map((
          status,
        ) => [status, 0]),
      );
      this.#finished.set(type, byStatus);
      if (!this.#submitted.has(type)) this.#submitted.set(type, 0);
    }
    return byStatus;
  }
}
