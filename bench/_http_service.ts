/**
 * The service as the HTTP benchmark runs it: engine and app in this process,
 * on an ephemeral port, logging nothing.
 *
 * @module
 */

import { ThreadFlow } from "../mod.ts";
import type { TaskStore } from "../engine/store/store.ts";
import { createApp, type ThreadFlowApp } from "../server/app.ts";
import { parseConfig } from "../server/config.ts";
import { silentLogger } from "../server/logger.ts";
import { benchScript, readUntil } from "./_load.ts";

/** Engine workers: the service's default (one per CPU) unless `BENCH_ENGINE_WORKERS` says otherwise. */
export const ENGINE_WORKERS: number = Number(
  Deno.env.get("BENCH_ENGINE_WORKERS") ?? navigator.hardwareConcurrency,
);

/** A service on an ephemeral port for the benchmark. */
export interface BenchService {
  url: string;
  /** The WebSocket endpoint, `ws://…/ws`. */
  ws: string;
  engine: ThreadFlow;
  app: ThreadFlowApp;
  close(): Promise<void>;
}

/**
 * Starts the service; `store` is a store spec (`memory`, `sqlite:PATH`) or a store,
 * default the memory store.
 *
 * @example
 * ```ts ignore
 * const service = await startService(2);
 * await service.close();
 * ```
 */
export async function startService(
  workers: number,
  store: string | TaskStore = "memory",
): Promise<BenchService> {
  const parsed = parseConfig(["--port", "0", "--max-body", "16MiB"], {});
  if (parsed.help) throw new Error("unreachable");
  const engine = await ThreadFlow.start({ workers, maxQueued: 10_000_000, store });
  const app = createApp({ engine, config: parsed.config, logger: silentLogger() });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => listening.resolve(addr) },
    app.fetch,
  );
  const addr = await listening.promise;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    ws: `ws://127.0.0.1:${addr.port}/ws`,
    engine,
    app,
    async close() {
      app.drain();
      app.closeWebSockets();
      await server.shutdown();
      await engine.close({ drainMs: 0 });
    },
  };
}

/** A server under test in a process of its own (`_service_process.ts`). */
export interface ServiceProcess {
  /** The service's base URL, or the floor's submit URL. */
  url: string;
  /** Its process id, for its CPU time (`load` in `_load.ts` reads it). */
  pid: number;
  close(): Promise<void>;
}

/**
 * Starts `kind` (`memory`, `sqlite:PATH` or `floor`) with `workers` engine
 * workers in a process of its own, and waits until it listens.
 *
 * @example
 * ```ts ignore
 * const sqlite = await startServiceProcess("sqlite:/tmp/bench.db", 2);
 * await sqlite.close();
 * ```
 */
export async function startServiceProcess(
  kind: string,
  workers: number,
): Promise<ServiceProcess> {
  const child = benchScript("./_service_process.ts", [kind, String(workers)], "piped", ["-A"])
    .spawn();
  const stdin = child.stdin.getWriter();
  const close = async () => {
    await stdin.close().catch(() => {});
    const status = await child.status;
    if (!status.success) throw new Error(`The ${kind} service process exited with ${status.code}.`);
  };
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const text = await readUntil(reader, "\n").finally(() => reader.cancel());
  if (text === undefined) {
    await close().catch(() => {});
    throw new Error(`The ${kind} service process stopped before it listened.`);
  }
  const { url } = JSON.parse(text.slice(0, text.indexOf("\n"))) as { url: string };
  return { url, pid: child.pid, close };
}
