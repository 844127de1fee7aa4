/**
 * Browser side: the worker slots kept current between listings. A frame's
 * worker and task events are folded into the last listing, so the grid moves
 * with the events and `/api/workers` is read only for the figures events do
 * not carry.
 *
 * @module
 */

import type { Task, TaskEvent, WorkerInfo } from "../../components/types.ts";

/**
 * The worker slots after a frame's events: worker events replace a slot,
 * task events move a slot between busy and idle and carry its progress.
 * Returns `current` itself when nothing changed.
 *
 * @example
 * ```ts ignore
 * workers.value = applyWorkerUpdates(workers.value, workerEvents, taskEvents);
 * ```
 */
export function applyWorkerUpdates(
  current: WorkerInfo[],
  workerUpdates: WorkerInfo[],
  events: TaskEvent[],
): WorkerInfo[] {
  if (workerUpdates.length === 0 && events.length === 0) return current;
  const byId = new Map(current.map((w) => [w.id, w]));
  let changed = false;
  for (const worker of workerUpdates) {
    // A worker event carries no CPU or memory figures: the last listing's stay until the next.
    const before = byId.get(worker.id);
    byId.set(
      worker.id,
      before === undefined || worker.cpuMs !== undefined ? worker : {
        ...worker,
        cpuPercent: before.cpuPercent,
        cpuMs: before.cpuMs,
        memoryBytes: worker.isolation === before.isolation ? before.memoryBytes : null,
      },
    );
    changed = true;
  }
  for (const event of events) {
    const task: Task = event.task;
    if (task.workerId === null) continue;
    const worker = byId.get(task.workerId);
    if (!worker) continue;
    const next = { ...worker };
    if (event.type === "task.started" || event.type === "task.progress") {
      if (!next.taskIds.includes(task.id)) next.taskIds = [...next.taskIds, task.id];
      next.state = "busy";
      if (next.taskIds[0] === task.id) next.progress = task.progress;
    } else if (next.taskIds.includes(task.id)) {
      next.taskIds = next.taskIds.filter((id) => id !== task.id);
      if (event.type === "task.succeeded") next.completed++;
      if (event.type === "task.failed") next.failed++;
      if (next.taskIds.length === 0) {
        next.state = next.state === "busy" ? "idle" : next.state;
        next.progress = null;
      }
    } else {
      continue;
    }
    byId.set(worker.id, next);
    changed = true;
  }
  return changed ? [...byId.values()].sort((a, b) => a.id - b.id) : current;
}
