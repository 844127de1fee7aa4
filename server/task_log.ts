/**
 * Logs task and worker transitions: one line per change at info (progress
 * at debug).
 *
 * @module
 */

import type { ServiceEngine } from "./engine_port.ts";
import type { Logger } from "./logger.ts";

/**
 * Starts logging the engine's events; returns the function that stops it.
 *
 * @example
 * ```ts ignore
 * const stop = logTransitions(engine, logger);
 * ```
 */
export function logTransitions(engine: ServiceEngine, logger: Logger): () => void {
  return engine.on((event) => {
    if ("task" in event) {
      const level = event.type === "task.progress" ? "debug" : "info";
      if (!logger.enabled(level)) return;
      const task = event.task;
      logger[level](event.type, {
        seq: event.seq,
        taskId: task.id,
        taskType: task.type,
        status: task.status,
        priority: task.priority,
        attempt: task.attempts,
        progress: event.type === "task.progress" ? task.progress : undefined,
        error: task.error?.message,
      });
    } else if ("control" in event) {
      if (!logger.enabled("info")) return;
      const { type, paused, limits } = event.control;
      logger.info(event.type, { seq: event.seq, taskType: type, paused, ...limits });
    } else if ("schedule" in event) {
      if (!logger.enabled("info")) return;
      logger.info(event.type, {
        seq: event.seq,
        schedule: event.name,
        tick: event.tick === undefined ? undefined : new Date(event.tick).toISOString(),
        taskId: event.taskId,
      });
    } else if (logger.enabled("info")) {
      logger.info(event.type, {
        seq: event.seq,
        workerId: event.worker.id,
        reason: event.reason,
      });
    }
  });
}
