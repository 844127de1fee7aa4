/**
 * Starting and stopping slots' workers: which kind and permission group each
 * runs, the process slots added when the first job in processes waits, a
 * respawn with backoff for a slot whose workers keep dying, warm spare
 * processes (`process_spares.ts`) so a killed process slot is back at once,
 * and the watch on terminated threads that keep running. The pool decides
 * when; this module knows how.
 *
 * @module
 */

import { entryModule } from "./entry.ts";
import type { WorkerGroup } from "./hooks.ts";
import { ProcessSpares } from "./process_spares.ts";
import { canSpawnWorkerProcesses, type ProcessSpec, ProcessWorker } from "./process_worker.ts";
import { Slot, type SlotEvents, type StartWorker } from "./slot.ts";
import { type StuckThread, StuckThreadWatch } from "./stuck_threads.ts";
import { resolveWorkerThreads, ThreadWorker, type WorkerHandle } from "./worker_handle.ts";

/** First respawn delay of a slot whose worker keeps crashing; doubles per crash. */
const RESPAWN_BACKOFF_MS = 100;
/** Longest respawn delay. */
const MAX_RESPAWN_BACKOFF_MS = 10_000;

/** What {@linkcode SlotWorkers} needs from the pool. */
export interface SlotWorkersOptions {
  /** Thread slots, and process slots added at once. */
  size: number;
  concurrency: number;
  /** Claim cells per slot. */
  capacity: number;
  /** Permission groups; every slot starts in the first. */
  groups: WorkerGroup[];
  /** Run workers with their group's permissions (`true`) or inherit this process's. */
  sandbox: boolean;
  /** Heap limit of worker processes started for types found stuck in threads, MB. */
  memoryLimitMb: number;
  /** Keep a warm spare process per group that has process slots. */
  spareProcesses: boolean;
  /** Where workers' messages and deaths go. */
  events: SlotEvents;
  /** A slot's worker was stopped for `reason` (not a death: the pool's own choice). */
  exited(slot: Slot, reason: string): void;
  /** A terminated thread keeps running. */
  onStuck(thread: StuckThread): void;
}

/**
 * The workers of a pool's slots.
 *
 * @example
 * ```ts ignore
 * const workers = new SlotWorkers(slots, { size: 2, concurrency: 1, capacity: 8, groups,
 *   sandbox: true, memoryLimitMb: 512, spareProcesses: true, events, exited, onStuck });
 * await Promise.all(workers.addThreadSlots());
 * await workers.close();
 * ```
 */
export class SlotWorkers {
  readonly #slots: Slot[];
  readonly #options: SlotWorkersOptions;
  readonly #groups: WorkerGroup[];
  /** Worker entry module (a data: URL) per thread group. */
  readonly #entries: string[];
  readonly #groupOfType = new Map<string, number>();
  /** Workers stopped but maybe not gone yet (processes being reaped). */
  readonly #stopping = new Set<WorkerHandle>();
  readonly #respawnTimers = new Map<Slot, ReturnType<typeof setTimeout>>();
  readonly #spares = new ProcessSpares();
  readonly #stuck: StuckThreadWatch;
  #closed = false;

  constructor(slots: Slot[], options: SlotWorkersOptions) {
    this.#slots = slots;
    this.#options = options;
    this.#groups = [...options.groups];
    this.#entries = this.#groups.map((group) => entryModule(group.types));
    this.#groups.forEach((group, index) => {
      for (const type of Object.keys(group.types)) this.#groupOfType.set(type, index);
    });
    this.#stuck = new StuckThreadWatch((thread) => options.onStuck(thread), resolveWorkerThreads);
  }

  /**
   * Throws, naming the types, when some run in processes and this process
   * cannot start them (a compiled binary, or no permission to run Deno).
   */
  checkCanStart(): void {
    const inProcesses = this.#groups.filter((group) => group.isolation === "process");
    if (inProcesses.length === 0 || canSpawnWorkerProcesses()) return;
    const types = inProcesses.flatMap((group) => Object.keys(group.types)).join(", ");
    throw new Error(
      Deno.build.standalone === true
        ? `Task types ${types} run in worker processes (isolation "process"), which a ` +
          `compiled binary cannot start (they need deno run): run these types in threads.`
        : `Task types ${types} run in worker processes (isolation "process"), which needs ` +
          `permission to run Deno: start ThreadFlow with --allow-run=deno (or --allow-run), ` +
          `or run these types in threads.`,
    );
  }

  /** The permission group `type` runs in (0 when unknown). */
  groupOf(type: string): number {
    return this.#groupOfType.get(type) ?? 0;
  }

  /** Isolation of `group`'s workers. */
  isolationOf(group: number): WorkerGroup["isolation"] {
    return this.#groups[group].isolation;
  }

  /** Isolation `type` runs in now, or `undefined` for an unknown type. */
  isolationOfType(type: string): WorkerGroup["isolation"] | undefined {
    const group = this.#groupOfType.get(type);
    return group === undefined ? undefined : this.#groups[group].isolation;
  }

  /** Terminated worker threads that keep running. */
  get stuck(): StuckThread[] {
    return this.#stuck.stuck;
  }

  /**
   * Adds `size` slots whose workers are threads, started in the first group;
   * each promise resolves with what the worker's `ready` message says.
   */
  addThreadSlots(): Promise<Array<{ type: string; url: string; reason: string }>>[] {
    const readies: Promise<Array<{ type: string; url: string; reason: string }>>[] = [];
    for (let i = 0; i < this.#options.size; i++) {
      const slot = new Slot(this.#slots.length, this.#options.capacity, "thread");
      this.#slots.push(slot);
      readies.push(new Promise((resolve) => this.spawn(slot, resolve)));
    }
    return readies;
  }

  /**
   * Adds `size` slots whose workers are processes, started in `group`, when
   * the first job of a type in processes waits (and only then). Process
   * slots come in addition to thread slots (a slot never changes kind), so
   * process isolation never costs the thread types a worker.
   */
  addProcessSlots(group: number): void {
    if (this.#groups[group].isolation !== "process") return;
    if (this.#slots.some((slot) => slot.isolation === "process")) return;
    const first = this.#slots.length;
    for (let i = 0; i < this.#options.size; i++) {
      const slot = new Slot(first + i, this.#options.capacity, "process");
      slot.group = group;
      this.#slots.push(slot);
      this.spawn(slot);
    }
  }

  /** Starts `slot`'s worker; `onReady` hears what its `ready` message says. */
  spawn(
    slot: Slot,
    onReady?: (invalid: Array<{ type: string; url: string; reason: string }>) => void,
  ): void {
    slot.onReady = onReady;
    try {
      slot.spawn(this.#starter(slot.group), this.#options.concurrency, this.#options.events);
    } catch (error) {
      // A process that cannot start (the executable is gone, a limit is hit): try again later.
      console.error(`ThreadFlow could not start worker ${slot.id}:`, error);
      slot.crashStreak++;
      this.#respawnLater(slot);
    }
  }

  /**
   * `slot`'s worker is ready. For a process slot, a spare of its group is
   * started now if it has none: after the slot's own start, not competing
   * with it for the CPU.
   */
  ready(slot: Slot): void {
    if (slot.isolation === "process") this.#keepSpares();
  }

  /** Stops `slot`'s worker and starts one of `group` in its place (a spare process when ready). */
  switchGroup(slot: Slot, group: number): void {
    this.stop(slot);
    slot.stopped();
    this.#options.exited(slot, "switching permissions");
    slot.group = group;
    this.spawn(slot);
  }

  /**
   * Starts a new worker in `slot`, whose worker was stopped: at once, unless
   * it died with nothing running more than once in a row (it may die again
   * at start), then after a backoff that doubles per such death.
   */
  respawn(slot: Slot, diedIdle: boolean): void {
    slot.crashStreak = diedIdle ? slot.crashStreak + 1 : 0;
    if (slot.crashStreak > 1) this.#respawnLater(slot);
    else this.spawn(slot);
  }

  /**
   * Stops `slot`'s worker at once; with `watch`, a thread terminated while
   * running tasks (a timeout, a cancel past grace) is watched in case it
   * keeps running. A thread that crashed ended by itself.
   */
  stop(slot: Slot, watch = false): void {
    const worker = slot.halt();
    if (worker === null) return;
    this.#stopping.add(worker);
    worker.closed().then(() => this.#stopping.delete(worker));
    if (watch && worker instanceof ThreadWorker && !this.#closed) {
      const types = new Set<string>();
      for (const held of slot.each()) {
        if (held.startedAt !== null || slot.claims.started(held.cell, held.seq)) {
          types.add(held.job.type);
        }
      }
      if (types.size > 0) this.#stuck.watch(() => worker.tid, slot.id, [...types]);
    }
  }

  /**
   * Runs `type` in worker processes from now on (it was found stuck in a
   * thread); `false` when it already does, or processes cannot be started.
   */
  toProcess(type: string): boolean {
    const from = this.#groupOfType.get(type);
    if (from === undefined || this.#groups[from].isolation === "process") return false;
    if (!canSpawnWorkerProcesses()) return false;
    this.#groups.push({
      permissions: this.#groups[from].permissions,
      isolation: "process",
      memoryLimitMb: this.#options.memoryLimitMb,
      types: { [type]: this.#groups[from].types[type] },
    });
    this.#entries.push("");
    this.#groupOfType.set(type, this.#groups.length - 1);
    return true;
  }

  /** Stops respawns, spares and the stuck-thread watch; resolves once every process is reaped. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#respawnTimers.values()) clearTimeout(timer);
    this.#respawnTimers.clear();
    this.#stuck.close();
    await Promise.all([
      this.#spares.close(),
      ...[...this.#stopping].map((worker) => worker.closed()),
    ]);
  }

  /** How workers of `group` start: threads, or processes (a spare one when there is). */
  #starter(group: number): StartWorker {
    if (this.#groups[group].isolation === "process") {
      return (_capacity, events) =>
        this.#spares.take(group, events) ?? new ProcessWorker(this.#spec(group), events);
    }
    const permissions = this.#groups[group].permissions;
    const entry = this.#entries[group];
    return (capacity, events) => {
      const options: WorkerOptions = { type: "module", name: "threadflow-worker" };
      if (this.#options.sandbox) options.deno = { permissions: { ...permissions, import: false } };
      return new ThreadWorker(entry, options, capacity, events);
    };
  }

  #spec(group: number): ProcessSpec {
    const { permissions, memoryLimitMb, types } = this.#groups[group];
    const { capacity, concurrency } = this.#options;
    return { types, permissions, memoryLimitMb, capacity, concurrency };
  }

  /** One spare per group that has process slots, none for the others. */
  #keepSpares(): void {
    if (!this.#options.spareProcesses || this.#closed) return;
    const groups = new Set<number>();
    for (const slot of this.#slots) if (slot.isolation === "process") groups.add(slot.group);
    this.#spares.retain(groups);
    for (const group of groups) {
      try {
        this.#spares.keep(group, this.#spec(group));
      } catch (error) {
        // The slots' own processes report the same trouble when they start; a spare can wait.
        console.error(`ThreadFlow could not start a spare worker process:`, error);
      }
    }
  }

  #respawnLater(slot: Slot): void {
    if (this.#closed || this.#respawnTimers.has(slot)) return;
    const delay = Math.min(
      MAX_RESPAWN_BACKOFF_MS,
      RESPAWN_BACKOFF_MS * 2 ** Math.max(0, slot.crashStreak - 1),
    );
    this.#respawnTimers.set(
      slot,
      setTimeout(() => {
        this.#respawnTimers.delete(slot);
        if (this.#closed || slot.worker !== null) return;
        this.spawn(slot);
      }, delay),
    );
  }
}
