/**
 * The extra surface of a *shared* store: several ThreadFlow nodes use one
 * database, the queue lives in it, and each node claims work under a lease.
 *
 * How a node drives it (see docs/stores.md for the full sequence):
 * - `claim()` when workers are idle (and on every `work` message);
 * - `renewLeases()` every heartbeat (default 5 s, lease 15 s); a task the node
 *   runs that is missing from the answer was lost: stop that run;
 * - `writeFenced()` for progress and completion of claimed tasks;
 * - `reclaimExpired()` and `promoteDue()` on a timer (any node may run them);
 * - `heartbeat()` with the node's workers, `nodes()` for cluster stats;
 * - `publish()` / `subscribe()` to fan events and cancels out to every node.
 *
 * @module
 */

import type { ThreadFlowEvent, WorkerInfo } from "../model/events.ts";
import type { Task } from "../model/task.ts";
import type { TaskStore } from "./store.ts";

/** A task moved to `running` for one node, with the lease that fences its writes. */
export interface ClaimedTask {
  /** The task as claimed: `running`, attempt counted, `startedAt` and `nodeId` set. */
  task: Task;
  /** Carried by every write about this run; refused once the lease is lost. */
  leaseToken: string;
  /** Lease end, ms since epoch (database clock). */
  leaseExpiresAt: number;
}

/** A lease a node still holds after {@linkcode SharedTaskStore.renewLeases}. */
export interface Lease {
  /** The task the lease is on. */
  taskId: string;
  /** The token its writes carry. */
  leaseToken: string;
  /** New lease end, ms since epoch (database clock). */
  leaseExpiresAt: number;
}

/** A write about a claimed task, fenced by its lease token. */
export interface FencedWrite {
  /** The task's full new state. */
  task: Task;
  /** The token of the claim it belongs to. */
  leaseToken: string;
}

/** A node in the registry, as last reported by its heartbeat. */
export interface NodeRecord {
  /** The node's id (`ThreadFlow` option `nodeId`). */
  nodeId: string;
  /** When the node started, ms since epoch. */
  startedAt: number;
  /** Last heartbeat, ms since epoch (database clock). */
  heartbeatAt: number;
  /** The node's worker slots at its last heartbeat. */
  workers: WorkerInfo[];
  /** Anything small the node wants others to see (version, host, store state). */
  info: Record<string, unknown>;
}

/** What a node reports at each heartbeat. */
export interface NodeHeartbeat {
  /** The node's id. */
  nodeId: string;
  /** When the node started, ms since epoch. */
  startedAt: number;
  /** The node's worker slots now. */
  workers: WorkerInfo[];
  /** Small extra facts for other nodes' stats; default `{}`. */
  info?: Record<string, unknown>;
}

/**
 * A message between nodes. `origin` is the {@linkcode SharedTaskStore.instanceId}
 * of the store that sent it, so a node can skip its own events.
 */
export type SharedMessage =
  /** New or requeued work exists: idle nodes should claim. */
  | { kind: "work"; origin: string }
  /** An engine event, for the WebSocket and dashboard of every node. */
  | { kind: "event"; origin: string; event: ThreadFlowEvent }
  /** Stop the run of `taskId` if this node is `nodeId` (the task is already cancelled in the store). */
  | { kind: "cancel"; origin: string; taskId: string; nodeId: string };

/** A listener for {@linkcode SharedMessage}s. */
export type SharedMessageListener = (message: SharedMessage) => void;

/**
 * A {@linkcode TaskStore} that several nodes share.
 *
 * @example
 * ```ts
 * import type { SharedTaskStore } from "./shared_store.ts";
 * async function runOnce(store: SharedTaskStore, nodeId: string) {
 *   const [claimed] = await store.claim(1, nodeId, 15_000);
 *   if (!claimed) return;
 *   const done = { ...claimed.task, status: "succeeded" as const, finishedAt: Date.now() };
 *   const refused = await store.writeFenced([{ task: done, leaseToken: claimed.leaseToken }]);
 *   if (refused.length > 0) console.log("lease lost; another node owns the task now");
 * }
 * ```
 */
export interface SharedTaskStore extends TaskStore {
  /** Always `shared`: several nodes use the store at once. */
  readonly kind: "shared";
  /** Random id of this store object; the `origin` of messages it publishes. */
  readonly instanceId: string;
  /** `false` while the database is unreachable (the store reconnects with backoff). */
  readonly healthy: boolean;
  /** Calls `listener` whenever `healthy` changes; returns the unsubscribe function. */
  onHealthChange(listener: (healthy: boolean) => void): () => void;
  /**
   * Moves up to `n` queued tasks that are due to `running` for `nodeId`,
   * highest priority first, then oldest; counts the attempt, sets `startedAt`
   * and `nodeId`, and gives each a fresh lease of `leaseMs`. Rows other nodes
   * are claiming are skipped, not waited for. Sorted in claim order.
   */
  claim(n: number, nodeId: string, leaseMs: number): Promise<ClaimedTask[]>;
  /**
   * Extends by `leaseMs` from now every lease this store object claimed for
   * `nodeId` that is still held, and returns them. (A process restarted with
   * the same node id does not revive the leases of its previous life: those
   * expire and are reclaimed.)
   */
  renewLeases(nodeId: string, leaseMs: number): Promise<Lease[]>;
  /**
   * Writes claimed tasks (progress, completion) only where the lease token
   * still matches; returns the ids of the writes refused because the lease was
   * lost (reclaimed, cancelled or released). A write that ends the task
   * (terminal status, or back to queued/scheduled for a retry) also clears the lease.
   */
  writeFenced(writes: FencedWrite[]): Promise<string[]>;
  /**
   * Gives claimed tasks back (graceful shutdown): `running` → `queued`, the
   * attempt not counted. Returns the ids refused (lease already lost).
   */
  release(writes: FencedWrite[]): Promise<string[]>;
  /**
   * Tasks whose lease expired go back to `queued` (the attempt stays counted)
   * or to `failed` with a `LeaseExpiredError` when attempts are used up.
   * Returns the tasks changed.
   */
  reclaimExpired(): Promise<Task[]>;
  /** `scheduled` tasks with `runAt <= now` (default: database clock) become `queued`. Returns them. */
  promoteDue(now?: number): Promise<Task[]>;
  /**
   * Cancels a task that is not finished (clearing any lease, which fences out
   * the node running it) and returns it; `undefined` when it is finished or
   * missing. When it was running, publish a `cancel` message to its `nodeId`.
   */
  cancel(id: string): Promise<Task | undefined>;
  /** Tells idle nodes that work is waiting (`insert()` already does this for queued tasks). */
  notifyWork(): Promise<void>;
  /**
   * Sends a message to every other store object on the database (not back
   * to this one's subscribers: its engine knows already). Large events are
   * sent by reference and fetched by the receiver.
   */
  publish(message: SharedMessage): Promise<void>;
  /**
   * Delivers every message published by other store objects, in order;
   * resolves once listening. Returns the unsubscribe function.
   */
  subscribe(listener: SharedMessageListener): Promise<() => Promise<void>>;
  /** Records the node as alive, with its workers. */
  heartbeat(node: NodeHeartbeat): Promise<void>;
  /** Nodes whose last heartbeat is at most `maxAgeMs` old (default 15 000). */
  nodes(maxAgeMs?: number): Promise<NodeRecord[]>;
  /** Removes the node from the registry (on close). */
  removeNode(nodeId: string): Promise<void>;
}

/** Whether `store` is a {@linkcode SharedTaskStore}. */
export function isSharedStore(store: TaskStore): store is SharedTaskStore {
  return store.kind === "shared";
}
