/**
 * CPU time and memory of a worker thread or process, read from Linux's
 * `/proc`. Every reader answers `null` where `/proc` cannot be read (another
 * system, no read permission): the figures are a help, never a requirement.
 *
 * @module
 */

/** Clock ticks per second of `/proc/…/stat` times (`getconf CLK_TCK`: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The bytes of one page (`getconf PAGESIZE`). */
const PAGE_BYTES = 4096;

/** CPU time and memory of a thread or a process. */
export interface ProcUsage {
  /** User plus system CPU time, ms. */
  cpuMs: number;
  /** Resident memory, bytes (a process's own; `null` for a thread, which shares its process's). */
  rssBytes: number | null;
}

/** CPU time (and RSS) of the process `pid`, or `null`. */
export function processUsage(pid: number): ProcUsage | null {
  const fields = statFields(`/proc/${pid}/stat`);
  if (fields === null) return null;
  return { cpuMs: cpuMsOf(fields), rssBytes: Number(fields[21]) * PAGE_BYTES };
}

/** CPU time of thread `tid` of this process, or `null` (gone, or unreadable). */
export function threadUsage(tid: number): ProcUsage | null {
  const fields = statFields(`/proc/self/task/${tid}/stat`);
  if (fields === null) return null;
  return { cpuMs: cpuMsOf(fields), rssBytes: null };
}

/**
 * The id of this process's newest Deno worker thread (named `worker-N`, N
 * counting up from 1), or `null`. Read right after `new Worker()`, which
 * starts the thread before it returns, it is that worker's thread.
 */
export function newestWorkerThread(): number | null {
  let best: { n: number; tid: number } | null = null;
  try {
    for (const entry of Deno.readDirSync("/proc/self/task")) {
      let comm: string;
      try {
        comm = Deno.readTextFileSync(`/proc/self/task/${entry.name}/comm`);
      } catch {
        continue; // the thread ended meanwhile
      }
      const match = /^worker-(\d+)/.exec(comm);
      if (match === null) continue;
      const n = Number(match[1]);
      if (best === null || n > best.n) best = { n, tid: Number(entry.name) };
    }
  } catch {
    return null;
  }
  return best?.tid ?? null;
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
