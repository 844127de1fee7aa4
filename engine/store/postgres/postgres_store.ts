/**
 * A shared store in PostgreSQL (npm `postgres`): several ThreadFlow nodes use
 * one database, claim work with `FOR UPDATE SKIP LOCKED` under leases, and
 * talk through `LISTEN/NOTIFY`.
 *
 * Writes are group-committed like the SQLite store (`GroupCommit`):
 * the `insert()`, `write()` and `writeFenced()` calls of one event-loop turn
 * share one transaction, and every promise resolves after COMMIT. The
 * connection pool, its health and the group commit live in `_database.ts`;
 * the state changes a node makes in SQL (claims, sweeps, cancels) in
 * `_changes.ts`; the queries that read tasks in `_reads.ts`.
 *
 * @module
 */

import type { StoreQuery, TaskPage } from "../../model/query.ts";
import type { StatusCounts, Task, TaskError } from "../../model/task.ts";
import type {
  StoredTypeControl,
  TypeControlChange,
  TypeLimits,
} from "../../model/type_controls.ts";
import type { ScheduleAdvance, ScheduleUpdate, StoredSchedule } from "../../model/schedule.ts";
import type { InsertOutcome, PruneOptions } from "../store.ts";
import type {
  BlockedScope,
  CancelChange,
  ClaimedTask,
  ClusterDepth,
  FencedWrite,
  Lease,
  LimitedClaim,
  NodeHeartbeat,
  NodeRecord,
  SharedMessage,
  SharedMessageListener,
  SharedTaskStore,
  StoreChange,
} from "../shared_store.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import { MessageChannel } from "./_messages.ts";
import { Database, databaseOptions } from "./_database.ts";
import * as changes from "./_changes.ts";
import * as nodes from "./_nodes.ts";
import * as control from "./_queue_control.ts";
import * as schedules from "./_schedules.ts";
import * as reads from "./_reads.ts";
import { UUID } from "./_rows.ts";

/** Options for {@linkcode PostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * Schema holding ThreadFlow's tables; created when missing. Default: the
   * URL's `schema` query parameter, else `threadflow`. Lower-case letters,
   * digits and `_`.
   */
  schema?: string;
  /** Connections in the pool; default 10. */
  maxConnections?: number;
  /** Seconds to wait for a connection; default 5. */
  connectTimeoutSeconds?: number;
  /**
   * While the database is unreachable, `write()`, `writeFenced()` and the
   * other updates are retried with backoff for this long (default 60,000 ms)
   * before their promises reject; they are idempotent, so a retry after a
   * lost acknowledgement is harmless. `insert()` is not retried: it rejects
   * with `StoreUnavailableError` at once (resubmit with an idempotency key).
   */
  retryWritesMs?: number;
  /** `application_name` of the connections; default `threadflow <schema>`. */
  applicationName?: string;
}

/**
 * A {@linkcode SharedTaskStore} in PostgreSQL.
 *
 * @example
 * ```ts
 * import { PostgresStore } from "./engine/store/postgres/postgres_store.ts";
 * const store = new PostgresStore("postgres://postgres@127.0.0.1:5432/test");
 * await store.open();
 * const claimed = await store.claim(4, "node-a", 15_000);
 * console.log(`claimed ${claimed.length}`);
 * await store.close();
 * ```
 */
export class PostgresStore implements SharedTaskStore {
  readonly kind = "shared" as const;
  readonly name: string;
  readonly instanceId: string = crypto.randomUUID();
  /** Schema holding the tables. */
  readonly schema: string;
  readonly #db: Database;
  readonly #messages: MessageChannel;
  /** Lease tokens this object claimed and has not seen end; renewLeases() renews only these. */
  #heldTokens = new Set<string>();

  /**
   * A store on the database at `url` (`postgres://user:password@host:port/db`,
   * optionally `?schema=NAME`); nothing is connected until `open()`. Throws
   * `ValidationError` for a schema name that is not a plain identifier.
   */
  constructor(url: string, options: PostgresStoreOptions = {}) {
    const database = databaseOptions(url, options);
    this.schema = database.schema;
    this.name = database.storeName;
    this.#db = new Database(database, {
      notifyWorkIn: (tx) => this.#notifyWorkIn(tx),
      notifyWork: () => this.notifyWork(),
    });
    this.#messages = new MessageChannel({
      url: database.url,
      channel: `${database.schema}_messages`,
      instanceId: this.instanceId,
      applicationName: database.applicationName,
      connectTimeoutSeconds: database.connectTimeoutSeconds,
      storeName: this.name,
      query: (run) => this.#db.query(run),
      fetchTask: (id) => this.get(id),
    });
  }

  /** Group-commit transactions committed so far (for metrics and tests). */
  get commits(): number {
    return this.#db.commits;
  }

  get healthy(): boolean {
    return this.#db.healthy;
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    return this.#db.onHealthChange(listener);
  }

  /** Connects and migrates. Returns `[]`: the queue of a shared store stays in the database. */
  async open(): Promise<Task[]> {
    await this.#db.connect();
    return [];
  }

  insert(tasks: Task[]): Promise<InsertOutcome[]> {
    return this.#db.enqueue({ kind: "insert", tasks, leaseTokens: [] });
  }

  write(tasks: Task[]): Promise<void> {
    return this.#db.enqueue({ kind: "write", tasks, leaseTokens: [] });
  }

  writeFenced(writes: FencedWrite[]): Promise<string[]> {
    return this.#db.enqueue({
      kind: "fenced",
      tasks: writes.map((w) => w.task),
      leaseTokens: writes.map((w) => w.leaseToken),
    });
  }

  get(id: string): Promise<Task | undefined> {
    if (!UUID.test(id)) return Promise.resolve(undefined);
    return this.#db.read((sql) => reads.getTask(sql, id));
  }

  getMany(ids: string[]): Promise<Task[]> {
    const valid = ids.filter((id) => UUID.test(id));
    if (valid.length === 0) return Promise.resolve([]);
    return this.#db.read((sql) => reads.getTasks(sql, valid));
  }

  dependents(id: string, limit: number): Promise<Task[]> {
    if (!UUID.test(id)) return Promise.resolve([]);
    return this.#db.read((sql) => reads.dependentTasks(sql, id, limit));
  }

  typeControls(): Promise<StoredTypeControl[]> {
    return this.#db.read((sql) => control.typeControls(sql));
  }

  saveTypeControl(type: string, change: TypeControlChange): Promise<StoredTypeControl> {
    return this.#db.other((tx) => control.saveTypeControl(tx, type, change.paused, change.limits));
  }

  schedules(): Promise<StoredSchedule[]> {
    return this.#db.read((sql) => schedules.listSchedules(sql));
  }

  getSchedule(name: string): Promise<StoredSchedule | undefined> {
    return this.#db.read((sql) => schedules.getSchedule(sql, name));
  }

  insertSchedule(schedule: StoredSchedule): Promise<boolean> {
    return this.#db.other((tx) => schedules.insertSchedule(tx, schedule));
  }

  updateSchedule(name: string, update: ScheduleUpdate): Promise<StoredSchedule | undefined> {
    return this.#db.other((tx) => schedules.updateSchedule(tx, name, update));
  }

  deleteSchedule(name: string): Promise<boolean> {
    return this.#db.other((tx) => schedules.deleteSchedule(tx, name));
  }

  claimDueSchedules(
    now: number,
    owner: string,
    leaseMs: number,
    limit: number,
  ): Promise<StoredSchedule[]> {
    return this.#db.query((sql) => schedules.claimDueSchedules(sql, now, owner, leaseMs, limit));
  }

  advanceSchedule(
    name: string,
    expectedNextRunAt: number,
    advance: ScheduleAdvance,
  ): Promise<boolean> {
    return this.#db.other((tx) => schedules.advanceSchedule(tx, name, expectedNextRunAt, advance));
  }

  nextScheduleAt(): Promise<number | null> {
    return this.#db.read((sql) => schedules.nextScheduleAt(sql));
  }

  getByIdempotencyKey(key: string): Promise<Task | undefined> {
    return this.#db.read((sql) => reads.taskByIdempotencyKey(sql, key));
  }

  list(query: StoreQuery): Promise<TaskPage> {
    return this.#db.read((sql) => reads.listTasks(sql, query));
  }

  countsByType(): Promise<Record<string, StatusCounts>> {
    return this.#db.read((sql) => reads.countsByType(sql));
  }

  async counts(): Promise<StatusCounts> {
    return (await this.clusterDepth()).counts;
  }

  clusterDepth(): Promise<ClusterDepth> {
    return this.#db.read((sql) => changes.clusterDepth(sql));
  }

  compactCounts(): Promise<void> {
    return this.#db.query((sql) => changes.compactCounts(sql));
  }

  prune(options: PruneOptions): Promise<number> {
    return this.#db.other((tx) => changes.pruneFinished(tx, options));
  }

  async claim(
    n: number,
    nodeId: string,
    leaseMs: number,
    agingMs = 0,
    exclude: readonly string[] = [],
  ): Promise<ClaimedTask[]> {
    if (n <= 0) return [];
    const claimed = await this.#db.query((sql) =>
      changes.claimTasks(sql, n, nodeId, leaseMs, agingMs, { exclude })
    );
    for (const { leaseToken } of claimed) this.#heldTokens.add(leaseToken);
    return claimed;
  }

  async claimLimited(
    type: string,
    limits: TypeLimits,
    n: number,
    nodeId: string,
    leaseMs: number,
    agingMs = 0,
  ): Promise<LimitedClaim> {
    const result = await this.#db.inTransaction((tx) =>
      control.claimLimited(tx, type, limits, n, { nodeId, leaseMs, agingMs })
    );
    for (const { leaseToken } of result.claimed) this.#heldTokens.add(leaseToken);
    return result;
  }

  resolveBlocked(
    scope: BlockedScope,
  ): Promise<{ changes: StoreChange[]; lastSeen: string | null }> {
    if ("parents" in scope || "children" in scope) {
      const ids = "parents" in scope ? scope.parents : scope.children;
      if (ids.length === 0) return Promise.resolve({ changes: [], lastSeen: null });
    }
    return this.#db.inTransaction(async (tx) => {
      const resolved = await control.resolveBlocked(tx, scope);
      if (resolved.changes.some((change) => change.task.status === "queued")) {
        await this.#notifyWorkIn(tx);
      }
      return resolved;
    });
  }

  async renewLeases(nodeId: string, leaseMs: number): Promise<Lease[]> {
    // Only leases this object claimed: a process restarted with the same node
    // id must not keep alive the tasks its previous life was running.
    const sent = [...this.#heldTokens];
    if (sent.length === 0) return [];
    const leases = await this.#db.query((sql) => changes.renewLeases(sql, nodeId, leaseMs, sent));
    // A token that is gone (finished, released, cancelled, reclaimed) never comes back.
    const alive = new Set(leases.map((lease) => lease.leaseToken));
    for (const token of sent) if (!alive.has(token)) this.#heldTokens.delete(token);
    return leases.sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
  }

  release(leaseTokens: string[]): Promise<string[]> {
    if (leaseTokens.length === 0) return Promise.resolve([]);
    for (const token of leaseTokens) this.#heldTokens.delete(token);
    return this.#db.other(async (tx) => {
      const released = await changes.releaseClaims(tx, leaseTokens);
      if (released.length > 0) await this.#notifyWorkIn(tx);
      return released;
    });
  }

  reclaimExpired(): Promise<StoreChange[]> {
    return this.#db.inTransaction(async (tx) => {
      const { changes: changed, freed } = await changes.reclaimExpired(tx);
      const requeued = changed.some((change) => change.task.status === "queued");
      if (requeued || freed > 0) await this.#notifyWorkIn(tx);
      return changed;
    });
  }

  promoteDue(now?: number): Promise<StoreChange[]> {
    return this.#db.inTransaction(async (tx) => {
      const due = await changes.promoteDue(tx, now);
      if (due.length > 0) await this.#notifyWorkIn(tx);
      return due;
    });
  }

  cancel(id: string, error?: TaskError): Promise<CancelChange | undefined> {
    if (!UUID.test(id)) return Promise.resolve(undefined);
    return this.#db.other((tx) => changes.cancelTask(tx, id, error ?? null));
  }

  notifyWork(): Promise<void> {
    return this.publish({ kind: "work", origin: this.instanceId });
  }

  publish(message: SharedMessage): Promise<void> {
    return this.#whenOpen(() => this.#messages.publish(message));
  }

  subscribe(listener: SharedMessageListener): Promise<() => Promise<void>> {
    return this.#whenOpen(() => this.#messages.subscribe(listener));
  }

  heartbeat(node: NodeHeartbeat): Promise<void> {
    return this.#db.query((sql) => nodes.heartbeat(sql, node));
  }

  nodes(maxAgeMs = 15_000): Promise<NodeRecord[]> {
    return this.#db.query((sql) => nodes.liveNodes(sql, maxAgeMs));
  }

  removeNode(nodeId: string): Promise<void> {
    return this.#db.query((sql) => nodes.removeNode(sql, nodeId));
  }

  async close(): Promise<void> {
    if (this.#db.closed) return;
    await this.#db.drain();
    await this.#messages.close();
    await this.#db.end();
  }

  /** Runs `call` on an open store; rejects with `StoreUnavailableError` otherwise. */
  #whenOpen<T>(call: () => Promise<T>): Promise<T> {
    try {
      this.#db.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return call();
  }

  #notifyWorkIn(tx: UnsafeQueryable): Promise<void> {
    return this.#messages.notifyIn(tx, [{ kind: "work", origin: this.instanceId }]);
  }
}
