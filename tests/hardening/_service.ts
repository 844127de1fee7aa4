/**
 * Hardening helpers: the real service as a `main.ts` subprocess (so a crash
 * shows up as a dead process, not as a dead test runner), its RSS, and small
 * HTTP helpers.
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../../deno.json", import.meta.url);

/**
 * The permission flags `deno task start` gives the service (read from
 * deno.json), so the service runs here with what it has in production;
 * `-A` only if the start task lists none.
 */
export function startPermissions(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(DENO_JSON)) as { tasks?: { start?: string } };
  const start = config.tasks?.start ?? "";
  const run = start.slice(start.lastIndexOf("deno run"));
  const flags = run.match(/--allow-[a-z-]+(?:=\S+)?/g) ?? [];
  return flags.length > 0 ? flags : ["-A"];
}

/** Folder of the fixture task modules (throws, hangs, closes its worker, ...). */
export const FIXTURE_TASKS = new URL("./fixtures/", import.meta.url).pathname;

/** A running `main.ts` subprocess. */
export interface MainProcess {
  child: Deno.ChildProcess;
  pid: number;
  url: string;
  port: number;
  /** Every stdout and stderr line so far. */
  lines: string[];
  /** Resolves with the exit status once the process ended (and its output was read). */
  exited: Promise<Deno.CommandStatus>;
  /** Whether the process has ended. */
  readonly dead: boolean;
  /** Resident set size in bytes, from /proc (Linux). */
  rss(): Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Options of {@linkcode spawnMain}. */
export interface SpawnOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long to wait for "listening". Default 30 s. */
  startTimeoutMs?: number;
}

/**
 * Starts `main.ts --port 0 --hostname 127.0.0.1 <args>` and waits for its
 * "listening" line.
 */
export async function spawnMain(args: string[], options: SpawnOptions = {}): Promise<MainProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    // Memory unless the test names a store: parallel services must not share ./data.
    args: [
      "run",
      ...startPermissions(),
      MAIN,
      "--port",
      "0",
      "--hostname",
      "127.0.0.1",
      "--store",
      "memory",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: options.env,
  }).spawn();
  const lines: string[] = [];
  const listening = Promise.withResolvers<string>();
  const read = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const match = /ThreadFlow listening on (http:\/\/[\d.:]+)/.exec(line);
        if (match) listening.resolve(match[1]);
      }
    }
    if (rest) lines.push(rest);
  };
  const outputs = Promise.all([read(child.stdout), read(child.stderr)]);
  let dead = false;
  const exited = (async () => {
    const status = await child.status;
    await outputs;
    dead = true;
    listening.reject(
      new Error(`main.ts exited (${status.code}) before listening:\n${lines.join("\n")}`),
    );
    return status;
  })();
  const timeout = options.startTimeoutMs ?? 30_000;
  const timer = setTimeout(
    () => listening.reject(new Error("main.ts did not listen in time.")),
    timeout,
  );
  let url: string;
  try {
    url = await listening.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    child,
    pid: child.pid,
    url,
    port: Number(new URL(url).port),
    lines,
    exited,
    get dead() {
      return dead;
    },
    rss: () => rssOf(child.pid),
    async stop(graceMs = 15_000) {
      if (!dead) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        const killer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Already gone.
          }
        }, graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(killer);
        }
      }
      return await exited;
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc, else `ps`). */
export async function rssOf(pid: number): Promise<number> {
  let status: string;
  try {
    status = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    // Reading /proc needs --allow-all; `ps` needs only --allow-run.
    const output = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] })
      .output();
    return Number(new TextDecoder().decode(output.stdout).trim()) * 1024;
  }
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`No VmRSS for process ${pid}.`);
  return Number(match[1]) * 1024;
}

/** An answer read whole: status, headers, raw text and parsed JSON (undefined if not JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** Sends a request and reads the whole answer. */
export async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** POSTs JSON and reads the answer. */
export function postJson(url: string, body: unknown): Promise<Answer> {
  return send(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Whether a value has the error shape `{ error: { code, message, field? } }`. */
export function isErrorShape(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const error = (value as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return false;
  const { code, message, field } = error as Record<string, unknown>;
  return typeof code === "string" && code.length > 0 && typeof message === "string" &&
    (field === undefined || typeof field === "string");
}

/** Polls `check` every `intervalMs` until it is true or `timeoutMs` passed; returns the last result. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return await check();
}
