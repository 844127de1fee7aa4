/**
 * Private to the SQLite store: schedules in SQL. Each function runs inside
 * the store's group-commit transaction.
 *
 * @module
 */

import type { SQLInputValue } from "node:sqlite";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import { rowToSchedule } from "../schedule_rows.ts";
import type { Prepare } from "./_rows.ts";

export function listSchedules(prepare: Prepare): StoredSchedule[] {
  return prepare("SELECT * FROM schedules ORDER BY name").all().map(rowToSchedule);
}

export function getSchedule(prepare: Prepare, name: string): StoredSchedule | undefined {
  const row = prepare("SELECT * FROM schedules WHERE name = ?").get(name);
  return row === undefined ? undefined : rowToSchedule(row);
}

export function insertSchedule(prepare: Prepare, schedule: StoredSchedule): boolean {
  const { changes } = prepare(
    `INSERT INTO schedules (name, cron, timezone, task, overlap, catch_up, paused, created_at,
      updated_at, next_run_at, last_tick, last_task_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`,
  ).run(
    schedule.name,
    schedule.cron,
    schedule.timezone,
    JSON.stringify(schedule.task),
    schedule.overlap,
    schedule.catchUp,
    schedule.paused ? 1 : 0,
    schedule.createdAt,
    schedule.updatedAt,
    schedule.nextRunAt,
    schedule.lastTick,
    schedule.lastTaskId,
  );
  return Number(changes) === 1;
}

export function updateSchedule(
  prepare: Prepare,
  name: string,
  update: ScheduleUpdate,
): StoredSchedule | undefined {
  const params: SQLInputValue[] = [
    update.cron,
    update.timezone,
    JSON.stringify(update.task),
    update.overlap,
    update.catchUp,
    update.paused ? 1 : 0,
    update.updatedAt,
  ];
  const setNext = update.nextRunAt !== undefined;
  if (setNext) params.push(update.nextRunAt ?? null);
  const row = prepare(
    `UPDATE schedules SET cron = ?, timezone = ?, task = ?, overlap = ?, catch_up = ?,
      paused = ?, updated_at = ?${setNext ? ", next_run_at = ?" : ""}
    WHERE name = ? RETURNING *`,
  ).get(...params, name);
  return row === undefined ? undefined : rowToSchedule(row);
}

export function deleteSchedule(prepare: Prepare, name: string): boolean {
  return Number(prepare("DELETE FROM schedules WHERE name = ?").run(name).changes) === 1;
}

export function claimDueSchedules(
  prepare: Prepare,
  now: number,
  owner: string,
  leaseMs: number,
  limit: number,
): StoredSchedule[] {
  return prepare(
    `UPDATE schedules SET lease_owner = ?, lease_until = ?
    WHERE name IN (
      SELECT name FROM schedules
      WHERE paused = 0 AND next_run_at <= ? AND coalesce(lease_until, 0) <= ?
      ORDER BY next_run_at LIMIT ?)
    RETURNING *`,
  ).all(owner, now + leaseMs, now, now, limit).map(rowToSchedule)
    .sort((a, b) => a.nextRunAt! - b.nextRunAt!);
}

export function advanceSchedule(
  prepare: Prepare,
  name: string,
  expectedNextRunAt: number,
  advance: ScheduleAdvance,
): boolean {
  const { changes } = prepare(
    `UPDATE schedules SET next_run_at = ?, last_tick = ?, last_task_id = ?, lease_owner = NULL,
      lease_until = NULL
    WHERE name = ? AND next_run_at = ?`,
  ).run(advance.nextRunAt, advance.lastTick, advance.lastTaskId, name, expectedNextRunAt);
  return Number(changes) === 1;
}

export function nextScheduleAt(prepare: Prepare): number | null {
  const row = prepare(
    `SELECT min(max(next_run_at, coalesce(lease_until, 0))) AS at FROM schedules
    WHERE paused = 0 AND next_run_at IS NOT NULL`,
  ).get() as { at: number | null };
  return row.at;
}
