/**
 * Private to the PostgreSQL store: the node registry (each node's last
 * heartbeat and workers, for cluster views).
 *
 * @module
 */

import type { NodeHeartbeat, NodeRecord } from "../shared_store.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import { NOW_MS } from "./_rows.ts";

/** A node silent for this long is removed from the registry by the next heartbeat of any node. */
const FORGET_NODES_AFTER_MS = 3_600_000;

/** Records a node as alive with its workers, and forgets nodes silent for an hour. */
export async function heartbeat(sql: UnsafeQueryable, node: NodeHeartbeat): Promise<void> {
  await sql.unsafe(
    `INSERT INTO nodes (node_id, started_at, heartbeat_at, workers, info)
    VALUES ($1::text, $2::bigint, ${NOW_MS}, $3::text::jsonb, $4::text::jsonb)
    ON CONFLICT (node_id) DO UPDATE SET started_at = excluded.started_at,
      heartbeat_at = excluded.heartbeat_at, workers = excluded.workers, info = excluded.info`,
    [
      node.nodeId,
      Math.trunc(node.startedAt),
      JSON.stringify(node.workers),
      JSON.stringify(node.info ?? {}),
    ],
  );
  // Nodes that died without removeNode() would stay listed forever otherwise.
  await sql.unsafe(`DELETE FROM nodes WHERE heartbeat_at < ${NOW_MS} - $1::bigint`, [
    FORGET_NODES_AFTER_MS,
  ]);
}

/** Nodes whose last heartbeat is at most `maxAgeMs` old. */
export async function liveNodes(sql: UnsafeQueryable, maxAgeMs: number): Promise<NodeRecord[]> {
  const rows = await sql.unsafe(
    `SELECT * FROM nodes WHERE heartbeat_at >= ${NOW_MS} - $1::bigint ORDER BY node_id`,
    [Math.trunc(maxAgeMs)],
  );
  return rows.map((row) => ({
    nodeId: row.node_id as string,
    startedAt: Number(row.started_at),
    heartbeatAt: Number(row.heartbeat_at),
    workers: row.workers as NodeRecord["workers"],
    info: row.info as Record<string, unknown>,
  }));
}

/** Removes a node from the registry (on close). */
export async function removeNode(sql: UnsafeQueryable, nodeId: string): Promise<void> {
  await sql.unsafe("DELETE FROM nodes WHERE node_id = $1::text", [nodeId]);
}
