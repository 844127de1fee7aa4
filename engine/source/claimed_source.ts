/**
 * The claimed task source (PostgreSQL): the queue lives in the database,
 * shared by every node. This node claims ready tasks under leases into a
 * small local buffer, ordered like the local queue; a claimed task stays
 * `queued` until a worker starts it. Delayed tasks wait in the database and
 * are promoted by any node's sweep, or by this node right on time when it
 * scheduled them.
 *
 * @module
 */

import type { ThreadFlowEvent } from "../model/events.ts";
import type { StatusCounts, Task, TaskError } from "../model/task.ts";
import type { ClusterDepth, SharedTaskStore } from "../store/shared_store.ts";
import type { Fencing } from "../store/store_writer.ts";
import { ClusterLink } from "./cluster.ts";
import { DeadlineQueue } from "./deadline_queue.ts";
import { TypedQueue, type TypeFilter } from "./typed_queue.ts";
import type { QueueDepth, SourceHooks, StoreChange, TaskSource } from "./source.ts";

/** Options for {@linkcode ClaimedSource}. */
export interface ClaimedSourceOptions {
  nodeId: string;
  agingMs: number;
  leaseMs: number;
  heartbeatMs: number;
}

/** How long cluster counts are reused before asking the database again. */
const DEPTH_TTL_MS = 250;
/** How often expired leases are reclaimed and due tasks promoted. */
const SWEEP_MS = 1_000;
/** Most cancelled ids remembered for claims still on their way. */
const MAX_REVOKED = 10_000;

/**
 * Claims from a {@linkcode SharedTaskStore}.
 *
 * @example
 * ```ts ignore
 * const source = new ClaimedSource(store, { nodeId, agingMs: 0, leaseMs: 15_000,
 *   heartbeatMs: 5_000 }, hooks);
 * await source.start([]);
 * ```
 */
export class ClaimedSource implements TaskSource {
  readonly shared = true;
  /** Lease tokens for the store writer's fenced writes. */
  readonly fencing: Fencing;
  #store: SharedTaskStore;
  #options: ClaimedSourceOptions;
  #hooks: SourceHooks;
  #buffer: TypedQueue;
  #link: ClusterLink;
  /** Due times of tasks this node scheduled: it promotes them on time. */
  #promotions: DeadlineQueue<true>;
  #depth: { at: number; value: ClusterDepth } | undefined;
  #refreshing: Promise<ClusterDepth> | undefined;
  /** Tasks this node made waiting (inserted, requeued, scheduled), ever. */
  #placed = 0;
  /** {@linkcode ClaimedSource.#placed} when the cached counts were read. */
  #placedAtRead = 0;
  /**
   * Set when this node admitted tasks more urgent than all it holds: less
   * urgent ones wait until a claim started after that admission returns.
   */
  #urgent: { priority: number; count: number; afterClaim: number } | undefined;
  /** Tasks cancelled in the store while this node's claim of them was on its way. */
  #revoked = new Set<string>();

  constructor(store: SharedTaskStore, options: ClaimedSourceOptions, hooks: SourceHooks) {
    this.#store = store;
    this.#options = options;
    this.#hooks = hooks;
    this.#buffer = new TypedQueue({ agingMs: options.agingMs });
    this.#promotions = new DeadlineQueue<true>(() => this.#link.sweep());
    this.#link = new ClusterLink(store, { ...options, sweepMs: SWEEP_MS }, {
      wanted: () => Math.max(hooks.wanted(), this.#urgent?.count ?? 0),
      controls: () => hooks.controls(),
      claimed: (claimed, started, failed) => {
        if (this.#urgent !== undefined && (failed || started > this.#urgent.afterClaim)) {
          this.#urgent = undefined;
        }
        const held: Task[] = [];
        let dependent: Task[] | undefined;
        for (const { task } of claimed) {
          if (this.#revoked.delete(task.id)) {
            this.fencing.leases.delete(task.id); // cancelled meanwhile: never runs here
            continue;
          }
          if (task.dependsOn !== undefined) (dependent ??= []).push(task);
          else {
            this.#buffer.push(task, task.runAt);
            held.push(task);
          }
        }
        hooks.ready(held);
        if (dependent !== undefined) this.#prepare(dependent);
      },
      leasesLost: (ids) => hooks.lost(ids),
      cancelRequested: (id) => this.#dropCancelled(id),
      remoteEvent: (event) => hooks.remoteEvent(event),
      swept: (changes) => hooks.applied(changes),
      workers: () => hooks.workers(),
    });
    this.fencing = { store, leases: this.#link.leases };
  }

  get size(): number {
    return this.#buffer.size;
  }

  get healthy(): boolean {
    return this.#store.healthy;
  }

  async start(): Promise<void> {
    await this.#link.start();
    this.#link.claim();
  }

  refill(freed?: string): void {
    if (freed !== undefined) this.#link.wake(freed);
    this.#link.claim();
  }

  peek(now: number, allowed: TypeFilter): Task | undefined {
    const head = this.#buffer.peek(now, allowed);
    // A more urgent task this node just added is on its way: nothing less urgent starts first.
    if (head !== undefined && this.#urgent !== undefined && head.priority < this.#urgent.priority) {
      return undefined;
    }
    return head;
  }

  take(now: number, allowed: TypeFilter): Task {
    return this.#buffer.take(now, allowed)!;
  }

  sizeOf(type: string): number {
    return this.#buffer.sizeOf(type);
  }

  /**
   * Gives the claimed, unstarted tasks of `type` back to the store (they were
   * claimed under the old rules) and claims again.
   */
  controlsChanged(type: string): void {
    const tasks = this.#buffer.drain(type, Date.now());
    const tokens: string[] = [];
    for (const task of tasks) {
      const token = this.fencing.leases.get(task.id);
      if (token === undefined) continue;
      this.fencing.leases.delete(task.id);
      tokens.push(token);
    }
    if (tasks.length > 0) this.#hooks.released(tasks);
    if (tokens.length > 0) this.#store.release(tokens).catch(() => {});
    this.#link.wake(type);
    this.#link.claim();
  }

  giveBack(tasks: Task[]): void {
    for (let i = tasks.length - 1; i >= 0; i--) {
      const task = tasks[i];
      this.#buffer.unshift(task, task.runAt);
    }
  }

  admit(task: Task, now: number): boolean {
    this.#placed++;
    // Released in the store once its parents have ended, by whichever node sees that first.
    if (task.status === "blocked") return false;
    if (task.status === "scheduled") this.#promotions.set(task.id, task.runAt, true);
    // Workers may hold less urgent tasks this node claimed before (they are taken back
    // now): until a claim picks the new one up, they wait.
    const head = this.#buffer.peek(now, undefined);
    if (task.status === "queued" && (head === undefined || task.priority > head.priority)) {
      this.#urgent = {
        priority: Math.max(task.priority, this.#urgent?.priority ?? 0),
        count: (this.#urgent?.count ?? 0) + 1,
        afterClaim: this.#link.claimsStarted,
      };
    }
    // In the store for any node to claim, this one included: a claim makes its own copy.
    this.#link.claim();
    return false;
  }

  place(task: Task, now: number): boolean {
    if (task.status === "queued" && this.fencing.leases.has(task.id)) {
      // Requeued by this node (a retry without backoff, a neighbour's timeout): still ours.
      this.#buffer.push(task, task.runAt);
      this.#placed++;
      return true;
    }
    // A scheduled retry (its lease ends with the write) or a manual retry: any node's.
    return this.admit(task, now);
  }

  remove(task: Task): void {
    if (task.status === "queued") this.#buffer.remove(task);
  }

  async cancelElsewhere(id: string, error: TaskError | null): Promise<StoreChange | undefined> {
    const change = await this.#store.cancel(id, error ?? undefined);
    if (change?.heldBy === this.#options.nodeId) this.#dropCancelled(id);
    else if (change?.heldBy != null) this.#link.requestCancel(id, change.heldBy);
    return change;
  }

  /** Reads the parents' outcomes of claimed dependent tasks, then makes them ready. */
  #prepare(tasks: Task[]): void {
    const ready = () => {
      // Still held (not cancelled or lost meanwhile)?
      const held = tasks.filter((task) => this.fencing.leases.has(task.id));
      for (const task of held) this.#buffer.push(task, task.runAt);
      this.#hooks.ready(held);
    };
    this.#hooks.prepare(tasks).then(ready, (error) => {
      console.error("ThreadFlow could not read the parents of claimed tasks:", error);
      ready(); // they run without ctx.parents rather than sit on their leases
    });
  }

  /** A task this node claimed was cancelled in the store: drop it, or never run it if its claim is still on its way. */
  #dropCancelled(id: string): void {
    if (this.fencing.leases.delete(id)) return this.#hooks.lost([id]);
    this.#revoked.add(id);
    // An id whose claim never came (it had ended here already) must not stay forever.
    if (this.#revoked.size > MAX_REVOKED) {
      this.#revoked.delete(this.#revoked.values().next().value!);
    }
  }

  async waiting(_pending: number, reserved: number, fresh = false): Promise<number> {
    if (fresh) this.#depth = undefined;
    const { counts } = await this.#cluster();
    // Counts up to DEPTH_TTL_MS old, plus what this node added since.
    return counts.blocked + counts.queued + counts.scheduled +
      (this.#placed - this.#placedAtRead) + reserved;
  }

  async counts(_local: StatusCounts): Promise<StatusCounts> {
    return { ...(await this.#cluster()).counts };
  }

  async depth(_pending: QueueDepth): Promise<QueueDepth> {
    const { queuedByPriority, oldestQueuedAt } = await this.#cluster();
    return { queuedByPriority: { ...queuedByPriority }, oldestQueuedAt: { ...oldestQueuedAt } };
  }

  publish(event: ThreadFlowEvent): void {
    this.#link.publish(event);
  }

  /** Gives unstarted claimed tasks back to the cluster and leaves it. */
  async close(_held: Task[]): Promise<void> {
    this.#promotions.close();
    const tokens: string[] = [];
    for (const [, token] of this.fencing.leases) tokens.push(token);
    this.fencing.leases.clear();
    await this.#store.release(tokens).catch(() => {});
    await this.#link.close();
  }

  /** Cluster counts, at most {@linkcode DEPTH_TTL_MS} old. */
  #cluster(): Promise<ClusterDepth> {
    const cached = this.#depth;
    if (cached !== undefined && Date.now() - cached.at < DEPTH_TTL_MS) {
      return Promise.resolve(cached.value);
    }
    const placed = this.#placed;
    this.#refreshing ??= this.#store.clusterDepth().then((value) => {
      this.#depth = { at: Date.now(), value };
      this.#placedAtRead = placed;
      return value;
    }).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }
}
