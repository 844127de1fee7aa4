/**
 * A worker slot's subprocess: `deno run` of a generated main module that
 * starts `process_host.ts`, its memory limit as V8's heap limit. Tasks run in
 * a worker inside it with exactly the types' declared permissions; the
 * process itself gets those plus read access, which its main thread (only
 * ThreadFlow's code) needs to load the task modules for that worker. Messages
 * are frames (`frames.ts`) on its stdin and stdout; its stderr is passed on
 * to this process's, and its tail kept to tell an out-of-memory death.
 *
 * @module
 */

import { MessageClaims } from "./claims.ts";
import * as msgpack from "@msgpack/msgpack";
import { FrameDecoder, FrameEncoder, FrameWriter } from "./frames.ts";
import { type NormalizedPermissions, PERMISSION_KINDS } from "./permissions.ts";
import type { ToWorker } from "./protocol.ts";
import type { HandleEvents, WorkerHandle } from "./worker_handle.ts";
import { denoConfigFile } from "./worker_options.ts";

const HOST_URL = new URL("./process_host.ts", import.meta.url);

/** The configuration (import map) worker processes load their modules with; read once. */
let config: string | undefined | null = null;

/** How much of a worker process's stderr is kept to explain its death. */
const STDERR_TAIL_CHARS = 4096;

/** What a worker process runs, and within which limits. */
export interface ProcessSpec {
  /** Task type name → module URL. */
  types: Record<string, string>;
  /** Its only permissions. */
  permissions: NormalizedPermissions;
  /** V8 heap limit, MB. */
  memoryLimitMb: number;
  /** Claim cells (jobs the pool may send ahead). */
  capacity: number;
  /** Jobs it runs at once. */
  concurrency: number;
}

/** Why a worker process died, when it was not killed by the pool. */
interface ProcessDeath {
  reason: string;
  /** It passed its heap limit. */
  outOfMemory: boolean;
}

/**
 * The command that starts worker processes: this Deno executable, or `deno`
 * on the PATH when only that may be run (`--allow-run=deno`); `null` when
 * neither may (and in a compiled binary, which cannot `deno run`).
 */
export function workerCommand(): string | null {
  if (Deno.build.standalone === true) return null;
  for (const command of [Deno.execPath(), "deno"]) {
    try {
      if (Deno.permissions.querySync({ name: "run", command }).state === "granted") return command;
    } catch {
      // Not a command this process may ask about.
    }
  }
  return null;
}

/** Whether this process may start worker processes (see {@linkcode workerCommand}). */
export function canSpawnWorkerProcesses(): boolean {
  return workerCommand() !== null;
}

/** The `--allow-*` flags for exactly `permissions`. */
export function permissionFlags(permissions: NormalizedPermissions): string[] {
  const flags: string[] = [];
  for (const kind of PERMISSION_KINDS) {
    const value = permissions[kind];
    if (value === true) flags.push(`--allow-${kind}`);
    else if (Array.isArray(value) && value.length > 0) {
      flags.push(`--allow-${kind}=${value.join(",")}`);
    }
  }
  return flags;
}

/** Where worker processes load `@msgpack/msgpack` from; found once. */
let msgpackModule: string | undefined;

/**
 * The file of `@msgpack/msgpack`'s ES module build in Deno's cache, which a
 * worker process imports directly (resolving the npm package would cost it
 * about 150 ms at start); the package specifier when it cannot be found.
 */
function msgpackUrl(): string {
  if (msgpackModule !== undefined) return msgpackModule;
  msgpackModule = "@msgpack/msgpack";
  try {
    const resolved = import.meta.resolve("@msgpack/msgpack");
    const esm = resolved.replace(/\/dist\.cjs\/index\.cjs$/, "/dist.esm/index.mjs");
    if (esm.startsWith("file:") && Deno.statSync(new URL(esm)).isFile) msgpackModule = esm;
  } catch {
    // Not in a file cache, or unreadable: the package specifier works too, only slower.
  }
  return msgpackModule;
}

function configFlags(): string[] {
  if (config === null) config = denoConfigFile();
  return config === undefined ? [] : ["--config", config];
}

/**
 * One worker process.
 *
 * @example
 * ```ts ignore
 * const worker = new ProcessWorker({ types, permissions: NO_PERMISSIONS, memoryLimitMb: 512,
 *   capacity: 4, concurrency: 1 }, { message: console.log, crashed: console.error });
 * worker.terminate();
 * await worker.closed();
 * ```
 */
export class ProcessWorker implements WorkerHandle {
  readonly isolation = "process";
  readonly claims: MessageClaims;
  readonly pid: number;
  readonly tid = null;
  #child: Deno.ChildProcess;
  #encoder = new FrameEncoder(msgpack);
  #writer: FrameWriter;
  #killed = false;
  #stderrTail = "";
  #closed: Promise<void>;

  constructor(spec: ProcessSpec, events: HandleEvents) {
    this.claims = new MessageClaims(spec.capacity, spec.concurrency);
    const url = msgpackUrl();
    const main = `import * as msgpack from ${JSON.stringify(url)};\n` +
      `import { hostWorker } from ${JSON.stringify(HOST_URL.href)};\n` +
      `await hostWorker(${JSON.stringify(spec.types)}, ${JSON.stringify(spec.permissions)}, ` +
      `{ module: msgpack, url: ${JSON.stringify(url)} });`;
    const command = workerCommand();
    if (command === null) {
      throw new Error("This process may not start worker processes (it needs --allow-run=deno).");
    }
    this.#child = new Deno.Command(command, {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        `--v8-flags=--max-old-space-size=${spec.memoryLimitMb}`,
        "--unstable-worker-options",
        // The process's main thread (ThreadFlow's code only) reads the task modules to load
        // them in the task worker, which runs with the declared permissions alone.
        ...permissionFlags({ ...spec.permissions, read: true }),
        ...configFlags(),
        `data:application/javascript,${encodeURIComponent(main)}`,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.#writer = new FrameWriter(this.#child.stdin.getWriter(), () => {
      // Its stdin is closed: it is dying; its exit status will say why.
    });
    const reading = this.#read(events);
    const stderr = this.#passStderr();
    this.#closed = Promise.all([this.#child.status, reading, stderr]).then(([status]) => {
      if (this.#killed) return;
      const death = this.#death(status, spec.memoryLimitMb);
      events.crashed(death.reason, death.outOfMemory);
    });
  }

  post(message: ToWorker): void {
    // Encoding throws here, synchronously, for what cannot be sent: the pool fails only those jobs.
    this.#writer.write(this.#encoder.encode(message));
  }

  terminate(): void {
    if (this.#killed) return;
    this.#killed = true;
    this.claims.ended();
    this.#writer.close();
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It exited already.
    }
  }

  closed(): Promise<void> {
    return this.#closed;
  }

  async #read(events: HandleEvents): Promise<void> {
    const decoder = new FrameDecoder(msgpack);
    try {
      for await (const chunk of this.#child.stdout) {
        if (this.#killed) continue; // drain, so the process can exit
        let messages: unknown[];
        try {
          messages = decoder.push(chunk);
        } catch (error) {
          events.crashed(`it sent a malformed message (${(error as Error).message})`);
          this.terminate();
          continue;
        }
        for (const message of messages) {
          if (this.#killed) break;
          events.message(message);
        }
      }
    } catch {
      // The pipe broke with the process: its exit status tells why.
    }
  }

  async #passStderr(): Promise<void> {
    const text = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        this.#stderrTail = (this.#stderrTail + text.decode(chunk, { stream: true }))
          .slice(-STDERR_TAIL_CHARS);
        try {
          Deno.stderr.writeSync(chunk);
        } catch {
          // Our own stderr is closed: nothing to pass it to.
        }
      }
    } catch {
      // The pipe broke with the process.
    }
  }

  #death(status: Deno.CommandStatus, memoryLimitMb: number): ProcessDeath {
    const tail = this.#stderrTail;
    if (/heap limit|out of memory/i.test(tail)) {
      return {
        reason:
          `it ran out of memory: its JavaScript heap passed the limit of ${memoryLimitMb} MB (memoryLimitMb)`,
        outOfMemory: true,
      };
    }
    const how = status.signal !== null
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    const last = tail.trim().split("\n").filter((line) => line.trim() !== "").at(-1);
    return {
      reason: `its worker process ${how}${last === undefined ? "" : ` (${last.slice(0, 300)})`}`,
      outOfMemory: false,
    };
  }
}
