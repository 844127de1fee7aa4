/**
 * Task types as the API and the dashboard show them: each type's module,
 * permissions, controls (pause, limits), tasks by status and last hour's
 * figures, in one shape (`TaskType` in the OpenAPI document).
 *
 * @module
 */

import {
  emptyCounts,
  type TaskTypeInfo,
  type TaskTypeStats,
  type TypeControl,
} from "../engine/mod.ts";
import type { TaskTypeView } from "../components/types.ts";

/** What reading every type needs from the engine; a `ThreadFlow` satisfies it. */
export interface TaskTypeSource {
  taskTypes(): TaskTypeInfo[];
  typeControls(): TypeControl[];
  typeStats(): Promise<TaskTypeStats[]>;
}

/**
 * One type's view from its module, control and figures (zeros when it has none yet).
 *
 * @example
 * ```ts ignore
 * taskTypeView(info, engine.typeControl(info.name), stats);
 * ```
 */
export function taskTypeView(
  info: TaskTypeInfo,
  control: TypeControl,
  stats: TaskTypeStats | undefined,
): TaskTypeView {
  return {
    name: info.name,
    builtin: info.builtin,
    source: info.source,
    paused: control.paused,
    limits: control.limits,
    moduleLimits: control.moduleLimits,
    limitsSet: control.limitsSet,
    permissions: { ...info.permissions },
    counts: stats?.counts ?? emptyCounts(),
    runMs: stats?.runMs ?? { count: 0, p50: 0, p95: 0 },
    lastHour: stats?.lastHour ?? { succeeded: 0, failed: 0, failureRate: null },
    lastError: stats?.lastError ?? null,
  };
}

/**
 * Every type's view, sorted by name (counting by type reads the store once).
 *
 * @example
 * ```ts ignore
 * const taskTypes = await taskTypeViews(engine);
 * ```
 */
export async function taskTypeViews(engine: TaskTypeSource): Promise<TaskTypeView[]> {
  const infos = new Map(engine.taskTypes().map((info) => [info.name, info]));
  const stats = new Map((await engine.typeStats()).map((entry) => [entry.type, entry]));
  return engine.typeControls()
    .filter((control) => infos.has(control.type))
    .map((control) => taskTypeView(infos.get(control.type)!, control, stats.get(control.type)));
}

/**
 * One type's view after `control` came into force.
 *
 * @example
 * ```ts ignore
 * const view = await oneTaskTypeView(engine, info, await engine.pauseType(info.name));
 * ```
 */
export async function oneTaskTypeView(
  engine: TaskTypeSource,
  info: TaskTypeInfo,
  control: TypeControl,
): Promise<TaskTypeView> {
  const stats = (await engine.typeStats()).find((entry) => entry.type === info.name);
  return taskTypeView(info, control, stats);
}
