/**
 * Private to the PostgreSQL store: queue control in SQL. Per-type controls
 * (pause, limits) live in `type_controls`; a limited type is claimed apart,
 * under a lock on its row, so its concurrency is counted over every node and
 * its rate is one token bucket for the cluster. Blocked tasks are released
 * (or cancelled) here once the tasks they depend on have ended.
 *
 * @module
 */

import { burstOf, type StoredTypeControl, type TypeLimits } from "../../model/type_controls.ts";
import type { TaskStatus } from "../../model/task.ts";
import type { BlockedScope, LimitedClaim, StoreChange } from "../shared_store.ts";
import { claimTasks } from "./_changes.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import { NOW_MS, type Row, rowToTask } from "./_rows.ts";

/** The database clock, ms since epoch, read now (not at the transaction's start). */
const CLOCK_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::float8";

/**
 * Claims up to `n` ready tasks of `type` within its `limits`, in one
 * transaction `tx` (the type's row stays locked until it commits, so claims
 * of the type from several nodes take turns and each counts the others').
 */
export async function claimLimited(
  tx: UnsafeQueryable,
  type: string,
  limits: TypeLimits,
  n: number,
  claim: { nodeId: string; leaseMs: number; agingMs: number },
): Promise<LimitedClaim> {
  const lock =
    `SELECT paused, tokens, tokens_at FROM type_controls WHERE type = $1::text FOR UPDATE`;
  let [control] = await tx.unsafe(lock, [type]);
  if (control === undefined) {
    await tx.unsafe(
      `INSERT INTO type_controls (type, updated_at) VALUES ($1::text, ${NOW_MS})
      ON CONFLICT (type) DO NOTHING`,
      [type],
    );
    [control] = await tx.unsafe(lock, [type]);
  }
  if (control.paused === true) return { claimed: [], stopped: "paused", retryInMs: null };
  // Read after the lock: this statement sees every claim of the type committed before.
  const [state] = await tx.unsafe(
    `SELECT ${CLOCK_MS} AS now, (SELECT count(*) FROM tasks WHERE type = $1::text
      AND (status = 'running' OR (status = 'queued' AND lease_token IS NOT NULL)))::int AS held`,
    [type],
  );
  const now = Number(state.now);
  let room = Math.max(0, Math.trunc(n));
  let limitedBy: LimitedClaim["stopped"] = null;
  if (limits.concurrency !== undefined) {
    const free = Math.max(0, limits.concurrency - (state.held as number));
    if (free < room) [room, limitedBy] = [free, "full"];
  }
  let tokens = 0;
  const rate = limits.ratePerSecond;
  if (rate !== undefined) {
    const burst = burstOf(limits)!;
    const before = control.tokens === null ? burst : Number(control.tokens);
    const since = control.tokens_at === null ? 0 : Math.max(0, now - Number(control.tokens_at));
    tokens = Math.min(burst, before + (since * rate) / 1000);
    if (Math.floor(tokens) < room) [room, limitedBy] = [Math.floor(tokens), "rate"];
  }
  const claimed = room > 0
    ? await claimTasks(tx, room, claim.nodeId, claim.leaseMs, claim.agingMs, { type })
    : [];
  if (rate !== undefined) {
    tokens -= claimed.length;
    await tx.unsafe("UPDATE type_controls SET tokens = $2, tokens_at = $3 WHERE type = $1::text", [
      type,
      tokens,
      Math.round(now),
    ]);
  }
  const stopped = claimed.length < room ? "empty" : limitedBy;
  return {
    claimed,
    stopped,
    retryInMs: stopped === "rate" ? Math.max(1, Math.ceil(((1 - tokens) * 1000) / rate!)) : null,
  };
}

/** Every saved type control. */
export async function typeControls(sql: UnsafeQueryable): Promise<StoredTypeControl[]> {
  const rows = await sql.unsafe("SELECT type, paused, limits FROM type_controls ORDER BY type");
  return rows.map(rowToControl);
}

/**
 * Saves a type's control: `paused` and `limits` (a JSON text, or `null` for
 * the module's) as given, a missing one kept. Returns it as saved.
 */
export async function saveTypeControl(
  sql: UnsafeQueryable,
  type: string,
  paused: boolean | undefined,
  limits: TypeLimits | null | undefined,
): Promise<StoredTypeControl> {
  const [row] = await sql.unsafe(
    `INSERT INTO type_controls (type, paused, limits, updated_at)
      VALUES ($1::text, coalesce($2::boolean, false), $3::text, ${NOW_MS})
    ON CONFLICT (type) DO UPDATE SET
      paused = coalesce($2::boolean, type_controls.paused),
      limits = CASE WHEN $4::boolean THEN $3::text ELSE type_controls.limits END,
      updated_at = excluded.updated_at
    RETURNING type, paused, limits`,
    [
      type,
      paused ?? null,
      limits === undefined || limits === null ? null : JSON.stringify(limits),
      limits !== undefined,
    ],
  );
  return rowToControl(row);
}

function rowToControl(row: Row): StoredTypeControl {
  return {
    type: row.type as string,
    paused: row.paused as boolean,
    limits: row.limits === null ? null : JSON.parse(row.limits as string) as TypeLimits,
  };
}

/**
 * Releases blocked tasks in `scope` whose parents have all succeeded (to
 * `queued`, or `scheduled` when their `runAt` is still ahead), or have all
 * ended when the task runs on a parent's failure; cancels those with a
 * failed or cancelled parent that cancel on it. Returns the changes (from
 * `blocked`) and the last id looked at (a page's cursor). Rows another node
 * is resolving are skipped, not waited for.
 */
export async function resolveBlocked(
  sql: UnsafeQueryable,
  scope: BlockedScope,
): Promise<{ changes: StoreChange[]; lastSeen: string | null }> {
  let where: string;
  let params: unknown[];
  if ("parents" in scope) {
    where = "depends_on && $1::uuid[]";
    params = [scope.parents];
  } else if ("children" in scope) {
    where = "id = ANY($1::uuid[])";
    params = [scope.children];
  } else {
    where = "id > $1::uuid ORDER BY id LIMIT $2::int";
    params = [scope.after, scope.limit];
  }
  const rows = await sql.unsafe(
    `WITH candidates AS (
      SELECT id, depends_on, on_parent_failure FROM tasks WHERE status = 'blocked' AND ${where}
      FOR UPDATE SKIP LOCKED),
    verdicts AS (
      SELECT c.id, c.on_parent_failure,
        bool_and(p.status IS NULL OR p.status = 'succeeded') AS all_succeeded,
        bool_and(p.status IS NULL OR p.status IN ('succeeded', 'failed', 'cancelled')) AS all_ended,
        (array_agg('Task ' || p.id || ' (' || p.type || '), which this task depends on, ' ||
          CASE p.status WHEN 'failed' THEN 'failed' ELSE 'was cancelled' END || '.'
          ORDER BY p.finished_at, p.id)
          FILTER (WHERE p.status IN ('failed', 'cancelled')))[1] AS failure
      FROM candidates c CROSS JOIN LATERAL unnest(c.depends_on) AS d(parent_id)
      LEFT JOIN tasks p ON p.id = d.parent_id
      GROUP BY c.id, c.on_parent_failure),
    decided AS (
      SELECT id, failure, CASE
        WHEN all_succeeded THEN 'release'
        WHEN failure IS NOT NULL AND coalesce(on_parent_failure, 'cancel') = 'cancel' THEN 'cancel'
        WHEN all_ended THEN 'release' END AS outcome
      FROM verdicts),
    updated AS (UPDATE tasks t SET
      status = CASE WHEN d.outcome = 'cancel' THEN 'cancelled'
        WHEN t.run_at > ${NOW_MS} THEN 'scheduled' ELSE 'queued' END,
      run_at = CASE WHEN d.outcome = 'release' THEN greatest(t.run_at, ${NOW_MS})
        ELSE t.run_at END,
      finished_at = CASE WHEN d.outcome = 'cancel' THEN ${NOW_MS} END,
      error = CASE WHEN d.outcome = 'cancel'
        THEN json_build_object('name', 'DependencyFailedError', 'message', d.failure)::text
        ELSE t.error END
    FROM decided d WHERE t.id = d.id AND d.outcome IS NOT NULL
    RETURNING t.*)
    SELECT updated.*, seen.last_seen FROM (SELECT max(id::text) AS last_seen FROM candidates) AS seen
    LEFT JOIN updated ON true`,
    params,
  );
  const changes = rows
    .filter((row) => row.id !== null)
    .map((row) => ({ task: rowToTask(row), from: "blocked" as TaskStatus }))
    .sort((a, b) => (a.task.id < b.task.id ? -1 : a.task.id > b.task.id ? 1 : 0));
  return { changes, lastSeen: (rows[0]?.last_seen ?? null) as string | null };
}
