/**
 * CPU time and memory of worker threads and processes, read from Linux's
 * `/proc` when this process may (Deno asks `--allow-all` for it), else from
 * `ps` when it may run it (`--allow-run=ps`). Every reader answers `null`
 * for what it cannot read: the figures are a help, never a requirement.
 *
 * @module
 */

/** Clock ticks per second of `/proc/…/stat` times (`getconf CLK_TCK`: 100 on Linux). */
const TICKS_PER_SECOND = 100;
/** The bytes of one page (`getconf PAGESIZE`). */
const PAGE_BYTES = 4096;

/** CPU time and memory of a thread or a process. */
export interface ProcUsage {
  /** User plus system CPU time, ms (whole seconds when read from `ps`). */
  cpuMs: number;
  /** Resident memory, bytes (a process's own; `null` for a thread, which shares its process's). */
  rssBytes: number | null;
}

/** A thread of this process: its id, name and CPU time. */
interface ThreadRow {
  tid: number;
  name: string;
  cpuMs: number;
}

let source: "proc" | "ps" | "none" | undefined;

/** Where figures come from here, found once. */
export function usageSource(): "proc" | "ps" | "none" {
  if (source !== undefined) return source;
  try {
    Deno.readTextFileSync("/proc/self/stat");
    source = "proc";
  } catch {
    source = Deno.build.os !== "windows" &&
        Deno.permissions.querySync({ name: "run", command: "ps" }).state === "granted"
      ? "ps"
      : "none";
  }
  return source;
}

/** CPU time and RSS of each process in `pids` that could be read. */
export async function processesUsage(pids: number[]): Promise<Map<number, ProcUsage>> {
  const usage = new Map<number, ProcUsage>();
  if (pids.length === 0) return usage;
  const from = usageSource();
  if (from === "proc") {
    for (const pid of pids) {
      const fields = statFields(`/proc/${pid}/stat`);
      if (fields !== null) {
        usage.set(pid, { cpuMs: cpuMsOf(fields), rssBytes: Number(fields[21]) * PAGE_BYTES });
      }
    }
  } else if (from === "ps") {
    const rows = await ps(["-o", "pid=,times=,rss=", "-p", pids.join(",")]);
    for (const [pid, seconds, rssKb] of rows) {
      usage.set(Number(pid), { cpuMs: Number(seconds) * 1000, rssBytes: Number(rssKb) * 1024 });
    }
  }
  return usage;
}

/** CPU time of each thread of this process in `tids` that is still alive. */
export async function threadsUsage(tids: number[]): Promise<Map<number, ProcUsage>> {
  const usage = new Map<number, ProcUsage>();
  if (tids.length === 0) return usage;
  const wanted = new Set(tids);
  const rows = await threads(usageSource() === "proc" ? (tid) => wanted.has(tid) : undefined);
  for (const row of rows) {
    if (wanted.has(row.tid)) usage.set(row.tid, { cpuMs: row.cpuMs, rssBytes: null });
  }
  return usage;
}

/**
 * Finds the OS thread of each Deno worker this process starts. Deno names a
 * worker's thread `worker-N`, N counting up from 1 in the order workers are
 * made, so the threads that appeared since the last lookup belong, in
 * order, to the workers made since (the newest to the latest: a thread
 * already gone was a terminated worker's). {@linkcode WorkerThreads.track}
 * is called right after `new Worker()`; with `/proc` it answers at once,
 * with `ps` once a listing (off the event loop) is asked for.
 *
 * @example
 * ```ts ignore
 * const threads = new WorkerThreads();
 * const worker = new Worker(url, { type: "module" });
 * threads.track((tid) => console.log("worker thread", tid));
 * ```
 */
export class WorkerThreads {
  #lastN = 0;
  #waiting: Array<(tid: number | null) => void> = [];
  #listing: Promise<void> | null = null;

  /**
   * Calls `found` with the thread of the worker just made (`null` when it
   * cannot be read): at once with `/proc`; with `ps`, at the next
   * {@linkcode WorkerThreads.resolve}, so starting a worker spawns nothing.
   */
  track(found: (tid: number | null) => void): void {
    if (usageSource() === "none") return found(null);
    this.#waiting.push(found);
    if (usageSource() === "proc") this.#assign(threadsNow());
  }

  /** Finds the threads of the workers still waiting for theirs (one `ps` listing, when any). */
  async resolve(): Promise<void> {
    if (this.#waiting.length === 0) return;
    if (this.#listing !== null) return await this.#listing;
    this.#listing = threads().then((rows) => this.#assign(rows));
    try {
      await this.#listing;
    } finally {
      this.#listing = null;
    }
  }

  #assign(rows: ThreadRow[]): void {
    const fresh: Array<{ n: number; tid: number }> = [];
    for (const row of rows) {
      const match = /^worker-(\d+)/.exec(row.name);
      if (match !== null && Number(match[1]) > this.#lastN) {
        fresh.push({ n: Number(match[1]), tid: row.tid });
      }
    }
    fresh.sort((a, b) => a.n - b.n);
    const waiting = this.#waiting;
    this.#waiting = [];
    // The newest threads are the waiting workers' (older ones were other workers, now gone).
    const mine = fresh.slice(-waiting.length);
    if (fresh.length > 0) this.#lastN = fresh[fresh.length - 1].n;
    waiting.forEach((found, i) => {
      const offset = i - (waiting.length - mine.length);
      found(offset >= 0 ? mine[offset].tid : null);
    });
  }
}

/** This process's threads (only `only`'s stat files are read from `/proc`). */
async function threads(only?: (tid: number) => boolean): Promise<ThreadRow[]> {
  if (usageSource() === "ps") {
    const rows = await ps(["-L", "-o", "tid=,times=,comm=", "-p", `${Deno.pid}`]);
    return rows.map(([tid, seconds, name]) => ({
      tid: Number(tid),
      name: name ?? "",
      cpuMs: Number(seconds) * 1000,
    }));
  }
  return threadsNow(only);
}

/** This process's threads from `/proc` (empty without it). */
function threadsNow(only?: (tid: number) => boolean): ThreadRow[] {
  const rows: ThreadRow[] = [];
  if (usageSource() === "proc") {
    try {
      for (const entry of Deno.readDirSync("/proc/self/task")) {
        const tid = Number(entry.name);
        if (only !== undefined && !only(tid)) continue;
        const fields = statFields(`/proc/self/task/${tid}/stat`);
        if (fields === null) continue; // it ended meanwhile
        let name = "";
        if (only === undefined) {
          try {
            name = Deno.readTextFileSync(`/proc/self/task/${tid}/comm`).trim();
          } catch {
            continue;
          }
        }
        rows.push({ tid, name, cpuMs: cpuMsOf(fields) });
      }
    } catch {
      return [];
    }
  }
  return rows;
}

/** Rows of `ps` output split on blanks; none when it cannot run. */
async function ps(args: string[]): Promise<string[][]> {
  try {
    const { stdout } = await new Deno.Command("ps", { args, stdout: "piped", stderr: "null" })
      .output();
    return new TextDecoder().decode(stdout).split("\n").map((line) => line.trim())
      .filter((line) => line !== "").map((line) => line.split(/\s+/));
  } catch {
    return [];
  }
}

/** Fields of a `/proc` stat file after the command name, from field 3 (state) on. */
function statFields(path: string): string[] | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ")".
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

function cpuMsOf(fields: string[]): number {
  // utime and stime are fields 14 and 15 of the file, 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) * (1000 / TICKS_PER_SECOND);
}
