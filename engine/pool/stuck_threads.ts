/**
 * Stuck worker threads: Deno 2.9's `Worker.terminate()` does not stop a
 * thread busy in a loop, so a terminated worker may keep a core busy until
 * the process exits. Each terminated thread is watched through its CPU time
 * (`/proc/self/task`, or `ps -L`); one still burning CPU a second or two
 * later is stuck. Without either (no permission), nothing is seen.
 *
 * @module
 */

import { type ProcUsage, threadsUsage, usageSource } from "./proc_stat.ts";

/** How long after termination a thread is judged, ms (`ps` counts whole seconds: longer). */
function judgeAfterMs(): number {
  return usageSource() === "ps" ? 2_000 : 1_000;
}
/**
 * CPU share (of one core) since termination above which a thread still
 * alive counts as stuck. Low on purpose: a terminated thread normally ends
 * within milliseconds, and on a loaded machine a spinning one may get only
 * a small share of a core.
 */
const STUCK_SHARE = 0.05;
/** A terminated thread alive but idle this long is let go. */
const GIVE_UP_MS = 30_000;

/** A terminated worker thread that keeps running. */
export interface StuckThread {
  /** OS thread id (`/proc/self/task/<tid>`). */
  tid: number;
  /** The slot it ran in. */
  slot: number;
  /** Task types it was running when terminated. */
  types: string[];
  /** When it was terminated (ms since epoch). */
  terminatedAt: number;
  /** Its CPU use when last read, percent of one core. */
  cpuPercent: number;
}

interface Watched {
  thread: StuckThread;
  /** Its thread id, once known (with `ps`, found at the first check). */
  tid: () => number | null;
  /** `performance.now()` and CPU ms at the last read, or `null` before the first. */
  at: number | null;
  cpuMs: number;
  /** `performance.now()` at termination, and CPU ms at the first read. */
  since: number;
  cpuMsFirst: number | null;
}

/**
 * Watches terminated threads and reports those that keep running.
 *
 * @example
 * ```ts ignore
 * const watch = new StuckThreadWatch((thread) => console.warn(thread), async () => {});
 * watch.watch(() => 12345, 0, ["spin"]);
 * watch.close();
 * ```
 */
export class StuckThreadWatch {
  #watching: Watched[] = [];
  #stuck: Watched[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onStuck: (thread: StuckThread) => void;
  #closed = false;

  #findThreads: () => Promise<void>;

  /**
   * `onStuck` hears of each thread found stuck; `findThreads` finds the
   * thread ids of workers started since it last ran (see `WorkerThreads`).
   */
  constructor(onStuck: (thread: StuckThread) => void, findThreads: () => Promise<void>) {
    this.#onStuck = onStuck;
    this.#findThreads = findThreads;
  }

  /** Threads found stuck and still alive. */
  get stuck(): StuckThread[] {
    return this.#stuck.map((watched) => ({ ...watched.thread }));
  }

  /**
   * Watches the thread `tid()` names (it may be found later), just
   * terminated in `slot` while running `types`. Nothing is read now: each
   * check reads every watched thread at once.
   */
  watch(tid: () => number | null, slot: number, types: string[]): void {
    if (this.#closed) return;
    this.#watching.push({
      thread: { tid: 0, slot, types, terminatedAt: Date.now(), cpuPercent: 0 },
      tid,
      at: null,
      cpuMs: 0,
      since: performance.now(),
      cpuMsFirst: null,
    });
    this.#schedule();
  }

  /** Stops watching (the pool closes); stuck threads stay listed. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    if (this.#watching.length === 0 && this.#stuck.length === 0) return;
    this.#timer = setTimeout(async () => {
      await this.#check();
      this.#timer = undefined;
      this.#schedule();
    }, judgeAfterMs());
  }

  async #check(): Promise<void> {
    await this.#resolve();
    const tids: number[] = [];
    for (const watched of [...this.#watching, ...this.#stuck]) {
      const tid = watched.tid();
      if (tid !== null) tids.push(tid);
    }
    const usage = await threadsUsage(tids);
    if (this.#closed) return;
    const now = performance.now();
    // A stuck thread may still end (its loop was long, not endless).
    this.#stuck = this.#stuck.filter((watched) => this.#read(watched, usage, now) !== null);
    // `ps` counts whole seconds: a thread must have used one since it was first read.
    // (A terminated thread normally ends within milliseconds: one alive a check later is suspect.)
    const resolutionMs = usageSource() === "ps" ? 1_000 : 10;
    const watching: Watched[] = [];
    for (const watched of this.#watching) {
      const first = watched.at === null;
      if (this.#read(watched, usage, now) === null) continue; // it ended, or cannot be found
      const used = watched.cpuMs - watched.cpuMsFirst!;
      // The first read (a check after termination) is the baseline; the next one judges.
      if (!first && used >= resolutionMs && used / (now - watched.since) >= STUCK_SHARE) {
        this.#stuck.push(watched);
        this.#onStuck({ ...watched.thread });
      } else if (now - watched.since < GIVE_UP_MS) {
        watching.push(watched);
      }
    }
    this.#watching = watching;
  }

  /** Finds the thread ids not known yet (one listing for all). */
  #resolve(): Promise<void> {
    return this.#watching.some((watched) => watched.tid() === null)
      ? this.#findThreads()
      : Promise.resolve();
  }

  /** CPU share since the last read, updating it; `null` once the thread is gone. */
  #read(watched: Watched, all: Map<number, ProcUsage>, now: number): number | null {
    const tid = watched.tid();
    const usage = tid === null ? undefined : all.get(tid);
    if (tid === null || usage === undefined) return null;
    watched.thread.tid = tid;
    if (watched.at === null) {
      watched.at = now;
      watched.cpuMs = usage.cpuMs;
      watched.cpuMsFirst = usage.cpuMs;
      return 0;
    }
    const share = (usage.cpuMs - watched.cpuMs) / Math.max(1, now - watched.at);
    watched.at = now;
    watched.cpuMs = usage.cpuMs;
    watched.thread.cpuPercent = Math.round(share * 1000) / 10;
    return share;
  }
}
