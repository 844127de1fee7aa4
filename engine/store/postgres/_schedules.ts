/**
 * Private to the PostgreSQL store: schedules in SQL. A node claims due
 * schedules with a conditional UPDATE of their lease (`FOR UPDATE SKIP
 * LOCKED`, so nodes claiming at once take different rows and never wait), and
 * records a fire only while `next_run_at` is still the tick it claimed.
 *
 * @module
 */

import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import { rowToSchedule } from "../schedule_rows.ts";
import type { UnsafeQueryable } from "./migrations.ts";

export async function listSchedules(sql: UnsafeQueryable): Promise<StoredSchedule[]> {
  return (await sql.unsafe("SELECT * FROM schedules ORDER BY name")).map(rowToSchedule);
}

export async function getSchedule(
  sql: UnsafeQueryable,
  name: string,
): Promise<StoredSchedule | undefined> {
  const [row] = await sql.unsafe("SELECT * FROM schedules WHERE name = $1::text", [name]);
  return row === undefined ? undefined : rowToSchedule(row);
}

export async function insertSchedule(
  sql: UnsafeQueryable,
  schedule: StoredSchedule,
): Promise<boolean> {
  const rows = await sql.unsafe(
    `INSERT INTO schedules (name, cron, timezone, task, overlap, catch_up, paused, created_at,
      updated_at, next_run_at, last_tick, last_task_id)
    VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::boolean,
      $8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::uuid)
    ON CONFLICT (name) DO NOTHING RETURNING name`,
    [
      schedule.name,
      schedule.cron,
      schedule.timezone,
      JSON.stringify(schedule.task),
      schedule.overlap,
      schedule.catchUp,
      schedule.paused,
      schedule.createdAt,
      schedule.updatedAt,
      schedule.nextRunAt,
      schedule.lastTick,
      schedule.lastTaskId,
    ],
  );
  return rows.length === 1;
}

export async function updateSchedule(
  sql: UnsafeQueryable,
  name: string,
  update: ScheduleUpdate,
): Promise<StoredSchedule | undefined> {
  const [row] = await sql.unsafe(
    `UPDATE schedules SET cron = $2::text, timezone = $3::text, task = $4::text,
      overlap = $5::text, catch_up = $6::text, paused = $7::boolean, updated_at = $8::bigint,
      next_run_at = CASE WHEN $9::boolean THEN $10::bigint ELSE next_run_at END
    WHERE name = $1::text RETURNING *`,
    [
      name,
      update.cron,
      update.timezone,
      JSON.stringify(update.task),
      update.overlap,
      update.catchUp,
      update.paused,
      update.updatedAt,
      update.nextRunAt !== undefined,
      update.nextRunAt ?? null,
    ],
  );
  return row === undefined ? undefined : rowToSchedule(row);
}

export async function deleteSchedule(sql: UnsafeQueryable, name: string): Promise<boolean> {
  const rows = await sql.unsafe("DELETE FROM schedules WHERE name = $1::text RETURNING name", [
    name,
  ]);
  return rows.length === 1;
}

export async function claimDueSchedules(
  sql: UnsafeQueryable,
  now: number,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<StoredSchedule[]> {
  const rows = await sql.unsafe(
    `UPDATE schedules s SET lease_owner = $2::text, lease_until = $1::bigint + $3::bigint
    FROM (
      SELECT name FROM schedules
      WHERE NOT paused AND next_run_at <= $1::bigint AND coalesce(lease_until, 0) <= $1::bigint
      ORDER BY next_run_at LIMIT $4::int
      FOR UPDATE SKIP LOCKED) due
    WHERE s.name = due.name
    RETURNING s.*`,
    [now, owner, leaseMs, limit],
  );
  return rows.map(rowToSchedule).sort((a, b) => a.nextRunAt! - b.nextRunAt!);
}

export async function advanceSchedule(
  sql: UnsafeQueryable,
  name: string,
  expectedNextRunAt: number,
  advance: ScheduleAdvance,
): Promise<boolean> {
  const rows = await sql.unsafe(
    `UPDATE schedules SET next_run_at = $3::bigint, last_tick = $4::bigint,
      last_task_id = $5::uuid, lease_owner = NULL, lease_until = NULL
    WHERE name = $1::text AND next_run_at = $2::bigint RETURNING name`,
    [name, expectedNextRunAt, advance.nextRunAt, advance.lastTick, advance.lastTaskId],
  );
  return rows.length === 1;
}

export async function nextScheduleAt(sql: UnsafeQueryable): Promise<number | null> {
  const [row] = await sql.unsafe(
    `SELECT min(greatest(next_run_at, coalesce(lease_until, 0))) AS at FROM schedules
    WHERE NOT paused AND next_run_at IS NOT NULL`,
  );
  return row.at === null ? null : Number(row.at);
}
