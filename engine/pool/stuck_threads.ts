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
  /** `performance.now()` and CPU ms at the last read. */
  at: number;
  cpuMs: number;
  /** `performance.now()` and CPU ms at termination. */
  since: number;
  cpuMsAtStop: number;
}

/**
 * Watches terminated threads and reports those that keep running.
 *
 * @example
 * ```ts ignore
 * const watch = new StuckThreadWatch((thread) => console.warn(thread));
 * watch.watch(12345, 0, ["spin"]);
 * watch.close();
 * ```
 */
export class StuckThreadWatch {
  #watching: Watched[] = [];
  #stuck: Watched[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onStuck: (thread: StuckThread) => void;
  #closed = false;

  constructor(onStuck: (thread: StuckThread) => void) {
    this.#onStuck = onStuck;
  }

  /** Threads found stuck and still alive. */
  get stuck(): StuckThread[] {
    return this.#stuck.map((watched) => ({ ...watched.thread }));
  }

  /** Watches thread `tid`, just terminated in `slot` while running `types`. */
  async watch(tid: number, slot: number, types: string[]): Promise<void> {
    if (this.#closed) return;
    const now = performance.now();
    const terminatedAt = Date.now();
    const usage = (await threadsUsage([tid])).get(tid);
    if (usage === undefined || this.#closed) return; // gone already (or unreadable)
    this.#watching.push({
      thread: { tid, slot, types, terminatedAt, cpuPercent: 0 },
      at: now,
      cpuMs: usage.cpuMs,
      since: now,
      cpuMsAtStop: usage.cpuMs,
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
    const tids = [...this.#watching, ...this.#stuck].map((watched) => watched.thread.tid);
    const usage = await threadsUsage(tids);
    if (this.#closed) return;
    const now = performance.now();
    const watching: Watched[] = [];
    // A stuck thread may still end (its loop was long, not endless).
    this.#stuck = this.#stuck.filter((watched) => this.#read(watched, usage, now) !== null);
    // `ps` counts whole seconds: a thread must have used one since it was terminated.
    const resolutionMs = usageSource() === "ps" ? 1_000 : 10;
    for (const watched of this.#watching) {
      if (this.#read(watched, usage, now) === null) continue; // it ended
      const used = watched.cpuMs - watched.cpuMsAtStop;
      if (used >= resolutionMs && used / (now - watched.since) >= STUCK_SHARE) {
        this.#stuck.push(watched);
        this.#onStuck({ ...watched.thread });
      } else if (now - watched.since < GIVE_UP_MS) {
        watching.push(watched);
      }
    }
    this.#watching = watching;
  }

  /** CPU share since the last read, updating it; `null` once the thread is gone. */
  #read(watched: Watched, all: Map<number, ProcUsage>, now: number): number | null {
    const usage = all.get(watched.thread.tid);
    if (usage === undefined) return null;
    const share = (usage.cpuMs - watched.cpuMs) / Math.max(1, now - watched.at);
    watched.at = now;
    watched.cpuMs = usage.cpuMs;
    watched.thread.cpuPercent = Math.round(share * 1000) / 10;
    return share;
  }
}
