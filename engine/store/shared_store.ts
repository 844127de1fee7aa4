/**
 * The extra surface of a *shared* store: several ThreadFlow nodes use one
 * database, the queue lives in it, and each node claims work under a lease.
 *
 * How a node drives it (see docs/stores.md for the full sequence):
 * - `claim()` when workers have room (and on every `work` message): claimed
 *   tasks stay `queued`, leased to the node, until a worker starts them;
 * - `renewLeases()` every heartbeat (default 5 s, lease 15 s); a task the node
 *   holds that is missing from the answer was lost: drop it;
 * - `writeFenced()` for every change of a claimed task (start, progress, end);
 * - `reclaimExpired()`, `promoteDue()` and `compactCounts()` on a timer (any
 *   node may run them); their changes come back as {@linkcode StoreChange}s
 *   for the engine's state machine to announce;
 * - `heartbeat()` with the node's workers, `nodes()` and `clusterDepth()` for
 *   cluster stats;
 * - `publish()` / `subscribe()` to fan events and cancels out to every node.
 *
 * @module
 */

import type { ThreadFlowEvent, WorkerInfo } from "../model/events.ts";
import type { StatusCounts, Task, TaskError, TaskStatus } from "../model/task.ts";
import type { TypeLimits } from "../model/type_controls.ts";
import type { TaskStore } from "./store.ts";

/** A status change the store made itself, for the engine's state machine. */
export interface StoreChange {
  /** The task in its new status. */
  task: Task;
  /** Its status before. */
  from: TaskStatus;
}

/** A cancel made in the store, and the node that held the task, if any. */
export interface CancelChange extends StoreChange {
  /** The node whose lease the cancel broke (tell it to stop), or `null`. */
  heldBy: string | null;
}

/** Counts and queue depth of the whole cluster. */
export interface ClusterDepth {
  counts: StatusCounts;
  /** Queued tasks per level, keyed "1".."10". */
  queuedByPriority: Record<string, number>;
  /** When each level's oldest queued task became ready (ms since epoch), or `null`. */
  oldestQueuedAt: Record<string, number | null>;
}

/** What a claim of one limited type got, and why it got no more. */
export interface LimitedClaim {
  claimed: ClaimedTask[];
  /**
   * Why fewer than asked were claimed: no ready task of the type (`empty`),
   * its concurrency is reached across the cluster (`full`), its rate budget
   * is spent (`rate`), or it is `paused`; `null` when all were claimed.
   */
  stopped: "empty" | "full" | "rate" | "paused" | null;
  /** With `rate`: how long until the budget allows one more start. */
  retryInMs: number | null;
}

/** Which blocked tasks to look at: children of these parents, these tasks, or a page of all. */
export type BlockedScope =
  | { parents: string[] }
  | { children: string[] }
  | { after: string; limit: number };

/** A task leased to one node: still `queued` until a worker starts it. */
export interface ClaimedTask {
  /** The task as claimed: `queued`, with `nodeId` set. */
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
   * Leases up to `n` ready (queued, unclaimed) tasks to `nodeId`, most urgent
   * first (by aged priority when `agingMs` > 0), then oldest; their status
   * stays `queued`. Rows other nodes are claiming are skipped, not waited
   * for. Sorted in claim order.
   */
  claim(
    n: number,
    nodeId: string,
    leaseMs: number,
    agingMs?: number,
    exclude?: readonly string[],
  ): Promise<ClaimedTask[]>;
  /**
   * Claims up to `n` ready tasks of one limited `type` within `limits`, its
   * concurrency counted over every node (claimed or running) and its rate
   * drawn from one token bucket for the cluster. Claims of a type from
   * several nodes take turns. (`claim()` is then given the type in `exclude`.)
   */
  claimLimited(
    type: string,
    limits: TypeLimits,
    n: number,
    nodeId: string,
    leaseMs: number,
    agingMs?: number,
  ): Promise<LimitedClaim>;
  /**
   * Releases (to `queued`, or `scheduled` when not yet due) the blocked
   * tasks in `scope` whose parents have all succeeded, or all ended for a
   * task that runs on a parent's failure; cancels those a failed or
   * cancelled parent cancels. Returns the changes, and the last id looked at
   * (the cursor of a `{ after, limit }` page).
   */
  resolveBlocked(scope: BlockedScope): Promise<{ changes: StoreChange[]; lastSeen: string | null }>;
  /**
   * Extends by `leaseMs` from now every lease this store object claimed for
   * `nodeId` that is still held, and returns them. (A process restarted with
   * the same node id does not revive the leases of its previous life: those
   * expire and are reclaimed.)
   */
  renewLeases(nodeId: string, leaseMs: number): Promise<Lease[]>;
  /**
   * Writes claimed tasks (start, progress, end) only where the lease token
   * still matches; returns the ids of the writes refused because the lease
   * was lost (reclaimed, cancelled or released). A write that finishes the
   * task or schedules it for later also ends the lease.
   */
  writeFenced(writes: FencedWrite[]): Promise<string[]>;
  /**
   * Gives claimed, unstarted tasks back (shutdown): their leases end and
   * they stay `queued` for any node. Returns the ids released.
   */
  release(leaseTokens: string[]): Promise<string[]>;
  /**
   * Claimed tasks whose lease expired lose it (they stay `queued`); running
   * ones go back to `queued` (the attempt stays counted) or to `failed` with
   * a `LeaseExpiredError` when attempts are used up. Returns the status changes.
   */
  reclaimExpired(): Promise<StoreChange[]>;
  /** `scheduled` tasks with `runAt <= now` (default: database clock) become `queued`. Returns the changes. */
  promoteDue(now?: number): Promise<StoreChange[]>;
  /**
   * Cancels a task that is not finished (breaking any lease, which fences
   * out the node holding it) and returns the change; `undefined` when it is
   * finished or missing. When `heldBy` is set, publish a `cancel` message to it.
   */
  cancel(id: string, error?: TaskError): Promise<CancelChange | undefined>;
  /** Cluster-wide counts and queue depth, without scanning every task. */
  clusterDepth(): Promise<ClusterDepth>;
  /** Folds recent count changes into the totals (keeps `clusterDepth()` cheap). */
  compactCounts(): Promise<void>;
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
