/**
 * The HTTP benchmark's load runs: wrk from Debian at `/usr/bin/wrk`, or a
 * Deno client in another process (`_http_load.ts`) when wrk is missing, and
 * the CPU time the server under test (its process, or this one) spent per answer.
 *
 * @module
 */

import process from "node:process";
import { processesUsage } from "../engine/pool/proc_stat.ts";
import { benchScale, percentile } from "./_report.ts";
import type { LoadRequest, LoadResult } from "./_http_load.ts";

const WRK = "/usr/bin/wrk";
/** Connections each load run keeps busy. */
export const CONNECTIONS = 64;
/** Seconds of each load run. */
export const HTTP_SECONDS: number = Math.max(2, Math.round(5 * benchScale()));

/**
 * Rounds of bare then service load, alternating. Each server's best rate and
 * median CPU are shown; a ratio to bare is the median of the rounds' own
 * ratios, each against the bare run of its round.
 */
export const HTTP_ROUNDS = 3;

/** Median of a few samples. */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/**
 * One of the benchmark's helper scripts (`_http_load.ts`, `_subscriber.ts`,
 * `_batch_client.ts`, `_service_process.ts`) in a process of its own, with
 * `permissions` (network access only unless given): its CPU time is not this
 * process's. Its output is piped, its errors shown.
 */
export function benchScript(
  script: string,
  args: string[],
  stdin: "piped" | "null" = "null",
  permissions: string[] = ["--allow-net"],
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    stdin,
    stdout: "piped",
    stderr: "inherit",
  });
}

/**
 * Reads a helper's output from `reader` until `marker` has come; answers all
 * read so far, or `undefined` when the output ended first.
 */
export async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  marker: string,
): Promise<string | undefined> {
  let text = "";
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) return undefined;
    text += value;
  }
  return text;
}

/** Whether wrk is installed. */
export async function hasWrk(): Promise<boolean> {
  try {
    return (await Deno.stat(WRK)).isFile;
  } catch {
    return false;
  }
}

/** What one load run measured. */
export interface LoadFigures {
  rps: number;
  requests: number;
  errors: number;
  /** CPU time of the server's process (all threads: the server, its engine and workers) per answer. */
  cpuUsPerRequest: number;
  p50Ms: number;
  p99Ms: number;
}

/** The body every POST of the benchmark sends: a no-op task. */
export const NOOP_BODY = JSON.stringify({ type: "noop", payload: { n: 1 } });

/**
 * Load on `url` (a no-op submit when `post`) from wrk, or from a Deno client
 * in another process, and the CPU time per answer of the server: process
 * `pid` when given, else this one (so the load is never counted).
 */
export async function load(
  url: string,
  seconds: number,
  connections: number,
  post: boolean,
  pid?: number,
): Promise<LoadFigures> {
  const cpuNow = async () => {
    if (pid !== undefined) return ((await processesUsage([pid])).get(pid)?.cpuMs ?? NaN) * 1000;
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  const cpuBefore = await cpuNow();
  let requests: number;
  let errors: number;
  let elapsed: number;
  let p50Ms: number;
  let p99Ms: number;
  if (await hasWrk()) {
    const args = ["-t", "1", "-c", String(connections), "-d", `${seconds}s`, "--latency", url];
    let script: string | undefined;
    if (post) {
      script = await Deno.makeTempFile({ suffix: ".lua" });
      await Deno.writeTextFile(
        script,
        `wrk.method = "POST"\nwrk.body = '${NOOP_BODY}'\n` +
          `wrk.headers["Content-Type"] = "application/json"\n`,
      );
      args.unshift("-s", script);
    }
    try {
      const output = await new Deno.Command(WRK, { args, stdout: "piped", stderr: "piped" })
        .output();
      const text = new TextDecoder().decode(output.stdout);
      const total = /(\d+) requests in ([\d.]+)(m?s)/.exec(text);
      if (total === null) throw new Error(`wrk gave no result:\n${text}`);
      errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
      requests = Number(total[1]) - errors;
      elapsed = Number(total[2]) / (total[3] === "ms" ? 1000 : 1);
      p50Ms = wrkMs(/^\s+50%\s+([\d.]+)(us|ms|s)$/m.exec(text));
      p99Ms = wrkMs(/^\s+99%\s+([\d.]+)(us|ms|s)$/m.exec(text));
    } finally {
      if (script !== undefined) await Deno.remove(script);
    }
  } else {
    const request: LoadRequest = { url, seconds, connections };
    if (post) Object.assign(request, { method: "POST", body: NOOP_BODY });
    const child = await benchScript("./_http_load.ts", [JSON.stringify(request)]).output();
    const result = JSON.parse(new TextDecoder().decode(child.stdout)) as LoadResult;
    requests = result.requests;
    errors = result.errors;
    elapsed = result.seconds;
    p50Ms = percentile(result.latenciesMs, 50);
    p99Ms = percentile(result.latenciesMs, 99);
  }
  const cpuUs = await cpuNow() - cpuBefore;
  return {
    rps: requests / elapsed,
    requests,
    errors,
    cpuUsPerRequest: cpuUs / Math.max(1, requests + errors),
    p50Ms,
    p99Ms,
  };
}

function wrkMs(match: RegExpExecArray | null): number {
  if (match === null) return NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}
