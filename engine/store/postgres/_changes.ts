/**
 * Private to the PostgreSQL store: the named state changes nodes make
 * directly in SQL, each its own small statement. Which statuses a change may
 * start from comes from the state machine's transition table
 * ({@linkcode sourcesOf}), so SQL can make no move the engine would refuse;
 * every change that moves a status returns the status it came from, and the
 * engine passes it through the state machine to count and announce it.
 *
 * A claim does not change a task's status: a claimed task stays `queued`
 * (with a lease and a node) until a worker starts it, so "running" means a
 * worker is executing it on every store.
 *
 * @module
 */

import { sourcesOf } from "../../model/lifecycle.ts";
import { MAX_PRIORITY, MIN_PRIORITY } from "../../model/limits.ts";
import { emptyCounts, type TaskError, type TaskStatus } from "../../model/task.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import { FINISHED_SQL, NOW_MS, type Row, rowToTask } from "./_rows.ts";
import type { PruneOptions } from "../store.ts";
import type { ClaimedTask, ClusterDepth, Lease, StoreChange } from "../shared_store.ts";

/** `status IN (...)` for the statuses a task may reach `to` from (and are in `among`, if given). */
function fromStatuses(to: TaskStatus, among?: TaskStatus[]): string {
  const sources = sourcesOf(to).filter((status) => among === undefined || among.includes(status));
  if (sources.length === 0) throw new Error(`No status may move to ${to} here.`);
  return `status IN (${sources.map((status) => `'${status}'`).join(", ")})`;
}

/** Ready, unclaimed tasks; the partial index `tasks_ready` holds exactly these. */
const READY = "status = 'queued' AND lease_token IS NULL";

/** Which task types a claim takes: one type only, or any but some. */
export interface ClaimFilter {
  /** Only this type. */
  type?: string;
  /** Any type but these (paused or limited types, claimed apart). */
  exclude?: readonly string[];
}

/**
 * Leases up to `n` ready tasks for `nodeId`, most urgent first (with aging,
 * by aged priority), then oldest. Their status stays `queued`.
 */
export async function claimTasks(
  sql: UnsafeQueryable,
  n: number,
  nodeId: string,
  leaseMs: number,
  agingMs: number,
  filter: ClaimFilter = {},
): Promise<ClaimedTask[]> {
  const params: unknown[] = [Math.trunc(n), nodeId, Math.trunc(leaseMs)];
  if (agingMs > 0) params.push(agingMs);
  let ready = READY;
  if (filter.type !== undefined) {
    params.push(filter.type);
    ready += ` AND type = $${params.length}::text`;
  } else if (filter.exclude !== undefined && filter.exclude.length > 0) {
    params.push(filter.exclude);
    ready += ` AND type <> ALL($${params.length}::text[])`;
  }
  const order = agingMs > 0
    ? `least(${MAX_PRIORITY}, priority + floor((${NOW_MS} - run_at) / $4::float8)) DESC, run_at, id`
    : "priority DESC, run_at, id";
  const picked = agingMs > 0
    ? `WITH heads AS (
        SELECT h.id, h.priority, h.run_at
        FROM generate_series(${MIN_PRIORITY}, ${MAX_PRIORITY}) AS p(level),
        LATERAL (SELECT id, priority, run_at FROM tasks WHERE ${ready} AND priority = p.level
          AND run_at <= ${NOW_MS} ORDER BY run_at, id LIMIT $1::int FOR UPDATE SKIP LOCKED) AS h),
      picked AS (SELECT id FROM heads ORDER BY ${order} LIMIT $1::int)`
    : `WITH picked AS (SELECT id FROM tasks WHERE ${ready} AND run_at <= ${NOW_MS}
        ORDER BY priority DESC, run_at, id LIMIT $1::int FOR UPDATE SKIP LOCKED)`;
  const rows = await sql.unsafe(
    `${picked}, claimed AS (
      UPDATE tasks t SET node_id = $2::text, lease_token = gen_random_uuid(),
        lease_expires_at = ${NOW_MS} + $3::bigint
      FROM picked WHERE t.id = picked.id
      RETURNING t.*)
    SELECT * FROM claimed ORDER BY ${order}`,
    params,
  );
  return rows.map((row) => ({
    task: rowToTask(row),
    leaseToken: row.lease_token as string,
    leaseExpiresAt: Number(row.lease_expires_at),
  }));
}

/** Extends the leases `tokens` of `nodeId` still held; returns them. */
export async function renewLeases(
  sql: UnsafeQueryable,
  nodeId: string,
  leaseMs: number,
  tokens: string[],
): Promise<Lease[]> {
  const rows = await sql.unsafe(
    // Rows are locked in id order, as the writer's batches take them, so a
    // renewal and a write of the same node never deadlock.
    `UPDATE tasks SET lease_expires_at = ${NOW_MS} + $2::bigint
    WHERE id IN (SELECT id FROM tasks WHERE status IN ('queued', 'running')
      AND node_id = $1::text AND lease_token = ANY($3::uuid[]) ORDER BY id FOR UPDATE)
    RETURNING id, lease_token, lease_expires_at`,
    [nodeId, Math.trunc(leaseMs), tokens],
  );
  return rows.map((row) => ({
    taskId: row.id as string,
    leaseToken: row.lease_token as string,
    leaseExpiresAt: Number(row.lease_expires_at),
  }));
}

/** Drops the leases of claimed tasks that never started (they stay `queued`); returns the ids released. */
export async function releaseClaims(sql: UnsafeQueryable, tokens: string[]): Promise<string[]> {
  const rows = await sql.unsafe(
    `UPDATE tasks SET lease_token = NULL, lease_expires_at = NULL, node_id = NULL
    WHERE status = 'queued' AND lease_token = ANY($1::uuid[]) RETURNING id`,
    [tokens],
  );
  return rows.map((row) => row.id as string);
}

/** The statuses a running task whose node vanished may go to. */
const RECLAIMABLE = fromStatuses("failed", sourcesOf("queued"));

/**
 * Expired leases: a claimed task that never started loses its lease (no
 * status change); a running one goes back to `queued` (its attempt stays
 * counted) or to `failed` when its attempts are used up.
 */
export async function reclaimExpired(
  sql: UnsafeQueryable,
): Promise<{ changes: StoreChange[]; freed: number }> {
  const freed = await sql.unsafe(
    `WITH expired AS (
      SELECT id FROM tasks WHERE status = 'queued' AND lease_token IS NOT NULL
        AND lease_expires_at < ${NOW_MS}
      LIMIT 1000 FOR UPDATE SKIP LOCKED)
    UPDATE tasks t SET lease_token = NULL, lease_expires_at = NULL, node_id = NULL
    FROM expired WHERE t.id = expired.id RETURNING t.id`,
  );
  const rows = await sql.unsafe(
    `WITH expired AS (
      SELECT id, status FROM tasks WHERE ${RECLAIMABLE} AND lease_expires_at < ${NOW_MS}
      ORDER BY lease_expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
    UPDATE tasks t SET
      status = CASE WHEN t.attempts >= t.max_attempts THEN 'failed' ELSE 'queued' END,
      finished_at = CASE WHEN t.attempts >= t.max_attempts THEN ${NOW_MS} END,
      run_at = CASE WHEN t.attempts >= t.max_attempts THEN t.run_at ELSE ${NOW_MS} END,
      error = CASE WHEN t.attempts >= t.max_attempts THEN json_build_object(
        'name', 'LeaseExpiredError',
        'message', 'The node ' || coalesce(t.node_id, '?') || ' running the task stopped '
          || 'renewing its lease (it crashed or lost the database), and the task had '
          || 'used its ' || t.max_attempts || ' attempt(s).')::text ELSE t.error END,
      history = CASE WHEN t.attempts < t.max_attempts AND t.status = 'running'
        THEN (coalesce(t.history::jsonb, '[]'::jsonb) || jsonb_build_array(jsonb_build_object(
          'attempt', greatest(t.attempts, 1), 'workerId', t.worker_id, 'nodeId', t.node_id,
          'startedAt', t.started_at, 'finishedAt', ${NOW_MS}, 'outcome', 'failed',
          'error', jsonb_build_object('name', 'LeaseExpiredError', 'message', 'The node '
            || coalesce(t.node_id, '?') || ' running the task stopped renewing its lease.'))))::text
        ELSE t.history END,
      worker_id = NULL, progress = NULL, lease_token = NULL, lease_expires_at = NULL
    FROM expired WHERE t.id = expired.id
    RETURNING t.*, expired.status AS from_status`,
  );
  return { changes: changes(rows), freed: freed.length };
}

/** `scheduled` tasks due by `now` (default: the database clock) become `queued`. */
export async function promoteDue(sql: UnsafeQueryable, now?: number): Promise<StoreChange[]> {
  const rows = await sql.unsafe(
    `WITH due AS (
      SELECT id, status FROM tasks WHERE ${fromStatuses("queued", ["scheduled"])}
        AND run_at <= coalesce($1::float8, ${NOW_MS})
      ORDER BY run_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
    UPDATE tasks t SET status = 'queued' FROM due WHERE t.id = due.id
    RETURNING t.*, due.status AS from_status`,
    [now ?? null],
  );
  return changes(rows);
}

/** A cancel made in SQL, and the node that held the task (to tell it to stop), if any. */
export interface CancelChange extends StoreChange {
  /** The node whose lease the cancel broke, or `null`. */
  heldBy: string | null;
}

/** Cancels an unfinished task, breaking any lease; `undefined` when it is finished or missing. */
export async function cancelTask(
  sql: UnsafeQueryable,
  id: string,
  error: TaskError | null,
): Promise<CancelChange | undefined> {
  const [row] = await sql.unsafe(
    `WITH old AS (SELECT id, status, node_id, lease_token FROM tasks WHERE id = $1::uuid FOR UPDATE)
    UPDATE tasks t SET status = 'cancelled', finished_at = ${NOW_MS}, error = $2::text,
      lease_token = NULL, lease_expires_at = NULL
    FROM old WHERE t.id = old.id AND old.${fromStatuses("cancelled")}
    RETURNING t.*, old.status AS from_status,
      CASE WHEN old.lease_token IS NOT NULL THEN old.node_id END AS held_by`,
    [id, error === null ? null : JSON.stringify(error)],
  );
  if (row === undefined) return undefined;
  return {
    task: rowToTask(row),
    from: row.from_status as TaskStatus,
    heldBy: row.held_by as string | null,
  };
}

/**
 * Cluster-wide counts and queue depth without scanning tasks: counts from
 * the counter tables the triggers keep, the oldest queued task of each level
 * from one probe of the `tasks_ready` index and the few claimed rows.
 */
export async function clusterDepth(sql: UnsafeQueryable): Promise<ClusterDepth> {
  const rows = await sql.unsafe(
    `SELECT status, priority, sum(n)::bigint AS n FROM (
      SELECT status, priority, n FROM task_counts
      UNION ALL SELECT status, priority, n FROM task_count_deltas) AS c
    GROUP BY status, priority`,
  );
  // Ready tasks: one probe of the claim index per level. Claimed ones (a few per node, in
  // the small partial index tasks_claimed) are queued too, and usually the oldest.
  const oldest = await sql.unsafe(
    `WITH claimed AS (
      SELECT priority, min(run_at) AS run_at FROM tasks
      WHERE status = 'queued' AND lease_token IS NOT NULL GROUP BY priority)
    SELECT p.level, least(
      (SELECT run_at FROM tasks WHERE ${READY} AND priority = p.level ORDER BY run_at LIMIT 1),
      (SELECT run_at FROM claimed WHERE claimed.priority = p.level)) AS run_at
    FROM generate_series(${MIN_PRIORITY}, ${MAX_PRIORITY}) AS p(level)`,
  );
  const counts = emptyCounts();
  const queuedByPriority: Record<string, number> = {};
  const oldestQueuedAt: Record<string, number | null> = {};
  for (let p = MIN_PRIORITY; p <= MAX_PRIORITY; p++) queuedByPriority[p] = 0;
  for (const row of rows) {
    const n = Number(row.n);
    counts[row.status as TaskStatus] += n;
    if (row.status === "queued") queuedByPriority[row.priority as number] += n;
  }
  for (const row of oldest) {
    oldestQueuedAt[row.level as number] = row.run_at === null ? null : Number(row.run_at);
  }
  return { counts, queuedByPriority, oldestQueuedAt };
}

/** Folds the counter deltas the triggers appended into the totals (any node, any time). */
export async function compactCounts(sql: UnsafeQueryable): Promise<void> {
  await sql.unsafe(
    `WITH moved AS (DELETE FROM task_count_deltas RETURNING status, priority, n)
    INSERT INTO task_counts (status, priority, n)
    SELECT status, priority, sum(n) FROM moved GROUP BY status, priority
    ORDER BY status, priority
    ON CONFLICT (status, priority) DO UPDATE SET n = task_counts.n + excluded.n`,
  );
}

function changes(rows: Row[]): StoreChange[] {
  return rows
    .map((row) => ({ task: rowToTask(row), from: row.from_status as TaskStatus }))
    .sort((a, b) => (a.task.id < b.task.id ? -1 : a.task.id > b.task.id ? 1 : 0));
}

/**
 * Deletes finished tasks past retention, at most `batchSize`: those that
 * finished before `finishedBefore`, then the oldest beyond `maxFinished`
 * (counted from the counter tables, not by scanning). Returns how many.
 */
export async function pruneFinished(tx: UnsafeQueryable, options: PruneOptions): Promise<number> {
  let budget = Math.max(0, Math.trunc(options.batchSize));
  if (budget === 0) return 0;
  const expired = await tx.unsafe(
    `DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE ${FINISHED_SQL}
          AND finished_at < $1::float8 ORDER BY finished_at LIMIT $2::int) RETURNING id`,
    [options.finishedBefore, budget],
  );
  budget -= expired.length;
  // The counter tables know how many tasks are finished without counting rows.
  const { counts } = await clusterDepth(tx);
  const finished = counts.succeeded + counts.failed + counts.cancelled;
  const excess = Math.min(finished - Math.max(0, options.maxFinished), budget);
  if (excess <= 0) return expired.length;
  const oldest = await tx.unsafe(
    `DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE ${FINISHED_SQL}
          AND finished_at IS NOT NULL ORDER BY finished_at LIMIT $1::int) RETURNING id`,
    [excess],
  );
  return expired.length + oldest.length;
}
