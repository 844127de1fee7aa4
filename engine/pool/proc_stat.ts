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
export function processesUsage(pids: number[]): Map<number, ProcUsage> {
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
    for (const [pid, seconds, rssKb] of ps(["-o", "pid=,times=,rss=", "-p", pids.join(",")])) {
      usage.set(Number(pid), { cpuMs: Number(seconds) * 1000, rssBytes: Number(rssKb) * 1024 });
    }
  }
  return usage;
}

/** CPU time of each thread of this process in `tids` that is still alive. */
export function threadsUsage(tids: number[]): Map<number, ProcUsage> {
  const usage = new Map<number, ProcUsage>();
  if (tids.length === 0) return usage;
  const wanted = new Set(tids);
  for (const row of threads(usageSource() === "proc" ? (tid) => wanted.has(tid) : undefined)) {
    if (wanted.has(row.tid)) usage.set(row.tid, { cpuMs: row.cpuMs, rssBytes: null });
  }
  return usage;
}

/**
 * The id of this process's newest Deno worker thread (named `worker-N`, N
 * counting up from 1), or `null`. Read right after `new Worker()`, which
 * starts the thread before it returns, it is that worker's thread.
 */
export function newestWorkerThread(): number | null {
  let best: { n: number; tid: number } | null = null;
  for (const row of threads()) {
    const match = /^worker-(\d+)/.exec(row.name);
    if (match === null) continue;
    const n = Number(match[1]);
    if (best === null || n > best.n) best = { n, tid: row.tid };
  }
  return best?.tid ?? null;
}

/** This process's threads (only `only`'s stat files are read from `/proc`). */
function threads(only?: (tid: number) => boolean): ThreadRow[] {
  const from = usageSource();
  const rows: ThreadRow[] = [];
  if (from === "proc") {
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
  } else if (from === "ps") {
    for (const [tid, seconds, name] of ps(["-L", "-o", "tid=,times=,comm=", "-p", `${Deno.pid}`])) {
      rows.push({ tid: Number(tid), name: name ?? "", cpuMs: Number(seconds) * 1000 });
    }
  }
  return rows;
}

/** Rows of `ps` output split on blanks; none when it cannot run. */
function ps(args: string[]): string[][] {
  try {
    const { stdout } = new Deno.Command("ps", { args, stdout: "piped", stderr: "null" })
      .outputSync();
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
