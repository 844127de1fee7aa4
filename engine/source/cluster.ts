/**
 * The link between one node and the others sharing its store: claims work
 * under leases, renews them on a heartbeat, sweeps (reclaims the leases of
 * dead nodes, promotes due scheduled tasks, folds the counters), and relays
 * events and cancels.
 *
 * @module
 */

import type { ThreadFlowEvent, WorkerInfo } from "../model/events.ts";
import type { TypeLimits } from "../model/type_controls.ts";
import type {
  ClaimedTask,
  SharedMessage,
  SharedTaskStore,
  StoreChange,
} from "../store/shared_store.ts";

/** Timings of the cluster link. */
export interface ClusterOptions {
  nodeId: string;
  /** How long a claimed task's lease lasts without renewal. Default 15,000 ms. */
  leaseMs: number;
  /** How often leases are renewed and the node reports itself. Default 5,000 ms. */
  heartbeatMs: number;
  /** How often expired leases are reclaimed and due tasks promoted. Default 1,000 ms. */
  sweepMs: number;
  /** Claims order by aged priority when > 0. */
  agingMs: number;
}

/** Which types a node claims apart (limited) or not at all (paused). */
export interface ClaimControls {
  /** Types the plain claim leaves alone: every paused or limited type. */
  exclude: string[];
  /** Limited types that are not paused, each claimed within its limits. */
  limited: { type: string; limits: TypeLimits }[];
}

/** Why a limited type is not claimed for a while. */
type Rest = { until: number; reason: "empty" | "full" | "rate" | "paused" };

/** What the cluster link needs from its source. */
export interface ClusterHooks {
  /** How many tasks to claim now. */
  wanted(): number;
  /** The types claimed apart or not at all. */
  controls(): ClaimControls;
  /**
   * A claim ended: `tasks` were claimed for this node (maybe none) by a
   * claim that started after `started` earlier claims. `failed` when the
   * store could not be reached.
   */
  claimed(tasks: ClaimedTask[], started: number, failed: boolean): void;
  /** Leases of these tasks were lost (expired, reclaimed, cancelled): drop them. */
  leasesLost(taskIds: string[]): void;
  /** Another node cancelled a task this node holds. */
  cancelRequested(taskId: string): void;
  /** An event from another node. */
  remoteEvent(event: ThreadFlowEvent): void;
  /** Status changes this node's sweep made in the store. */
  swept(changes: StoreChange[]): void;
  workers(): WorkerInfo[];
}

/** Counters are folded every this many sweeps. */
const COMPACT_EVERY_SWEEPS = 5;

/** Runs the claim loop and the timers of a node in a cluster. */
export class ClusterLink {
  #store: SharedTaskStore;
  #options: ClusterOptions;
  #hooks: ClusterHooks;
  /** Lease token of every task this node holds (claimed or running). */
  readonly leases = new Map<string, string>();
  #timers: Array<ReturnType<typeof setInterval>> = [];
  #unsubscribe: (() => Promise<void>) | undefined;
  #claiming = false;
  #claimAgain = false;
  #closed = false;
  #startedAt = Date.now();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #sweeps = 0;
  /** Claims started so far. */
  #claims = 0;
  /** Limited types not worth claiming before a time (none ready, at their limit, no budget). */
  #resting = new Map<string, Rest>();
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = Infinity;

  constructor(store: SharedTaskStore, options: ClusterOptions, hooks: ClusterHooks) {
    this.#store = store;
    this.#options = options;
    this.#hooks = hooks;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#store.subscribe((message) => this.#onMessage(message));
    await this.#heartbeat();
    this.#timers.push(setInterval(() => this.#heartbeat(), this.#options.heartbeatMs));
    this.#timers.push(setInterval(() => this.sweep(), this.#options.sweepMs));
  }

  /** Claims as many tasks as the node wants; cheap to call often. */
  claim(): void {
    if (this.#closed) return;
    if (this.#claiming) {
      this.#claimAgain = true;
      return;
    }
    const wanted = this.#hooks.wanted();
    if (wanted <= 0) return;
    this.#claiming = true;
    const started = ++this.#claims;
    this.#claimAll(wanted).then(
      (claimed) => {
        this.#failures = 0;
        this.#claiming = false;
        if (this.#closed) return;
        for (const { task, leaseToken } of claimed) this.leases.set(task.id, leaseToken);
        this.#hooks.claimed(claimed, started, false);
        // A full claim means more may wait; an answer that was asked again must be asked again.
        if (claimed.length === wanted || this.#claimAgain) {
          this.#claimAgain = false;
          this.claim();
        }
      },
      (error) => {
        this.#claiming = false;
        this.#failures++;
        if (!this.#closed) this.#hooks.claimed([], started, true);
        if (this.#failures === 1) console.error("ThreadFlow could not claim tasks:", error);
        this.#retryLater();
      },
    );
  }

  /** `type` may be claimed again now (a task of it ended here, or its control changed). */
  wake(type: string): void {
    this.#resting.delete(type);
  }

  /** The plain claim, then each limited type that is not resting, up to `wanted` in all. */
  async #claimAll(wanted: number): Promise<ClaimedTask[]> {
    const { nodeId, leaseMs, agingMs } = this.#options;
    const { exclude, limited } = this.#hooks.controls();
    const claimed = await this.#store.claim(wanted, nodeId, leaseMs, agingMs, exclude);
    const now = Date.now();
    for (const { type, limits } of limited) {
      const room = wanted - claimed.length;
      if (room <= 0 || this.#closed) break;
      const rest = this.#resting.get(type);
      if (rest !== undefined && rest.until > now) continue;
      const got = await this.#store.claimLimited(type, limits, room, nodeId, leaseMs, agingMs);
      claimed.push(...got.claimed);
      if (got.stopped === null) this.#resting.delete(type);
      else if (got.stopped === "rate") {
        const until = now + (got.retryInMs ?? this.#options.sweepMs);
        this.#resting.set(type, { until, reason: "rate" });
        this.#wakeUp(until);
      } else {
        // Found empty, full or paused: a sweep (or a task ending here) looks again.
        this.#resting.set(type, { until: now + this.#options.sweepMs, reason: got.stopped });
      }
    }
    return claimed;
  }

  /** Claims again at `at` (a rate budget refills), unless a claim is due sooner. */
  #wakeUp(at: number): void {
    if (at >= this.#wakeAt || this.#closed) return;
    clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#wakeAt = Infinity;
      this.claim();
    }, Math.max(0, at - Date.now()));
  }

  /** Claims started so far; a claim started after this number sees what is committed now. */
  get claimsStarted(): number {
    return this.#claims;
  }

  /** Publishes a local event to the other nodes. */
  publish(event: ThreadFlowEvent): void {
    if (this.#closed) return;
    this.#store.publish({ kind: "event", origin: this.#store.instanceId, event }).catch(() => {});
  }

  /** Tells the node holding `taskId` to stop it. */
  requestCancel(taskId: string, nodeId: string): void {
    this.#store.publish({ kind: "cancel", origin: this.#store.instanceId, taskId, nodeId })
      .catch(() => {});
  }

  /** Reclaims expired leases and promotes due tasks now (also on a timer). */
  async sweep(): Promise<void> {
    try {
      const reclaimed = await this.#store.reclaimExpired();
      const promoted = await this.#store.promoteDue();
      if (++this.#sweeps % COMPACT_EVERY_SWEEPS === 0) await this.#store.compactCounts();
      if (this.#closed) return;
      this.#hooks.swept([...reclaimed, ...promoted]);
      // Also when nothing changed here: a node that missed a NOTIFY finds work within a sweep.
      this.claim();
    } catch {
      // The store reports its own health; the next sweep tries again.
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#wakeTimer);
    await this.#unsubscribe?.().catch(() => {});
    await this.#store.removeNode(this.#options.nodeId).catch(() => {});
  }

  #retryLater(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const delay = Math.min(5_000, 100 * 2 ** Math.min(this.#failures, 6));
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.claim();
    }, delay);
  }

  #onMessage(message: SharedMessage): void {
    if (this.#closed) return;
    switch (message.kind) {
      case "work":
        // New tasks may be of a type found empty before.
        for (const [type, rest] of this.#resting) {
          if (rest.reason === "empty") this.#resting.delete(type);
        }
        this.claim();
        break;
      case "event":
        if (message.origin !== this.#store.instanceId) this.#hooks.remoteEvent(message.event);
        break;
      case "cancel":
        // Also when the claim of it is still on its way: the source remembers to drop it.
        if (message.nodeId === this.#options.nodeId) this.#hooks.cancelRequested(message.taskId);
        break;
    }
  }

  async #heartbeat(): Promise<void> {
    try {
      // Only leases held before the renewal can be judged by its answer.
      const before = [...this.leases.keys()];
      const held = await this.#store.renewLeases(this.#options.nodeId, this.#options.leaseMs);
      const still = new Set(held.map((lease) => lease.taskId));
      const lost = before.filter((id) => !still.has(id) && this.leases.has(id));
      if (lost.length > 0) {
        for (const id of lost) this.leases.delete(id);
        this.#hooks.leasesLost(lost);
      }
      await this.#store.heartbeat({
        nodeId: this.#options.nodeId,
        startedAt: this.#startedAt,
        workers: this.#hooks.workers(),
      });
    } catch {
      // The store reports its own health; the next beat tries again.
    }
  }
}
