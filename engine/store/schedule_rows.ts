/**
 * `schedules` rows as {@linkcode StoredSchedule}s, for the SQL stores (the
 * same columns on SQLite and PostgreSQL).
 *
 * @module
 */

import type {
  ScheduleCatchUp,
  ScheduleOverlap,
  ScheduleTask,
  StoredSchedule,
} from "../model/schedule.ts";

/**
 * A `schedules` row as a schedule: bigint columns may come back as strings
 * (PostgreSQL), booleans as 0/1 (SQLite).
 *
 * @example
 * ```ts ignore
 * const schedule = rowToSchedule(row);
 * ```
 */
export function rowToSchedule(row: Record<string, unknown>): StoredSchedule {
  return {
    name: row.name as string,
    cron: row.cron as string,
    timezone: row.timezone as string,
    task: JSON.parse(row.task as string) as ScheduleTask,
    overlap: row.overlap as ScheduleOverlap,
    catchUp: row.catch_up as ScheduleCatchUp,
    paused: row.paused === true || row.paused === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    nextRunAt: numberOrNull(row.next_run_at),
    lastTick: numberOrNull(row.last_tick),
    lastTaskId: (row.last_task_id ?? null) as string | null,
  };
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}
