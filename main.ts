/**
 * The ThreadFlow service: `deno task start [flags]` (see `--help`).
 *
 * Wires the real parts together (config, store, engine, app) and listens.
 * SIGINT or SIGTERM shuts down gracefully: `/ready` turns 503, WebSockets
 * close with 1001, the server stops accepting, work drains for up to
 * `--drain-ms`, and the process exits 0. A second signal exits at once.
 *
 * @module
 */

import { ThreadFlow } from "./mod.ts";
import { createApp, type ThreadFlowApp, VERSION } from "./server/app.ts";
import {
  authMode,
  ConfigError,
  helpText,
  parseConfig,
  type ServiceConfig,
} from "./server/config.ts";
import { createLogger, type Logger } from "./server/logger.ts";
import { LEGACY_PATHS } from "./server/routes/legacy.ts";
import { storeFromConfig } from "./server/store_from_config.ts";
import { logTransitions } from "./server/task_log.ts";
import { countTimers } from "./server/timer_count.ts";

/** Exit code for a bad setting. */
const EXIT_CONFIG = 2;
/** Exit code when the address cannot be bound. */
const EXIT_LISTEN = 1;
/** Exit code when a second signal cuts shutdown short. */
const EXIT_FORCED = 130;

/**
 * Runs the service until a signal stops it; resolves with the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["--port", "0"], Deno.env.toObject()));
 * ```
 */
export async function main(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  let config: ServiceConfig;
  let store;
  try {
    const parsed = parseConfig(args, env);
    if (parsed.help) {
      console.log(helpText());
      return 0;
    }
    config = parsed.config;
    store = storeFromConfig(config.store);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`ThreadFlow cannot start: ${error.message}`);
    return EXIT_CONFIG;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });

  // Listen before the engine starts (a durable store may take a while to open), answering
  // /health 200 and everything else 503 until the service is ready.
  const startedAt = Date.now();
  let handler: (request: Request) => Response | Promise<Response> = (request) =>
    answerStarting(request, server.addr.port, startedAt);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { port: config.port, hostname: config.hostname, onListen: () => {} },
      (request) => handler(request),
    );
  } catch (error) {
    logger.error(`ThreadFlow cannot listen on ${config.hostname}:${config.port}.`, { error });
    return EXIT_LISTEN;
  }

  let engine: ThreadFlow;
  try {
    engine = await ThreadFlow.start({
      workers: config.workers,
      tasksDir: config.tasksDir,
      isolation: config.isolation,
      taskMemoryMb: config.taskMemoryMb,
      store,
      maxQueued: config.maxQueued,
      retentionMs: config.retentionMs,
      retentionMaxFinished: config.retentionMax,
    });
  } catch (error) {
    logger.error("ThreadFlow cannot start.", { error });
    await server.shutdown();
    return EXIT_CONFIG;
  }
  const stopLogging = logTransitions(engine, logger);
  const service = createApp({ engine, config, logger, httpPort: () => server.addr.port });
  handler = service.fetch;

  const stopped = Promise.withResolvers<number>();
  let stopping = false;
  const onSignal = (signal: Deno.Signal) => {
    if (stopping) {
      logger.warn("Second signal: exiting at once.", { signal });
      Deno.exit(EXIT_FORCED);
    }
    stopping = true;
    logger.info("Shutting down.", { signal, drainMs: config.drainMs });
    shutDown(service, server, engine, config, logger).then(
      () => stopped.resolve(0),
      (error) => {
        logger.error("Shutdown failed.", { error });
        stopped.resolve(1);
      },
    );
  };
  const onInterrupt = () => onSignal("SIGINT");
  const onTerminate = () => onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onTerminate);
  // Printed once the service takes work and handles signals; tests and scripts wait for it.
  announce(config, `http://${server.addr.hostname}:${server.addr.port}`);

  const code = await stopped.promise;
  Deno.removeSignalListener("SIGINT", onInterrupt);
  Deno.removeSignalListener("SIGTERM", onTerminate);
  stopLogging();
  logger.info("Stopped.");
  return code;
}

/** The answer to every request while the engine starts. */
function answerStarting(request: Request, port: number, startedAt: number): Response {
  const path = new URL(request.url).pathname;
  if (path === "/health") {
    const uptime = Math.floor((Date.now() - startedAt) / 1000);
    return Response.json(
      { status: "starting", http_port: port, version: VERSION, uptime },
      { headers: { "access-control-allow-origin": "*" } },
    );
  }
  const message = "ThreadFlow is starting; try again shortly.";
  // The original endpoints' clients read `error` as a message.
  const error = LEGACY_PATHS.has(path) ? message : { code: "not_ready", message };
  return Response.json({ error }, { status: 503, headers: { "retry-after": "1" } });
}

/** What the start line says about authentication. */
const AUTH_NOTES = {
  token: "API token required",
  open: "--open: no API token, every client that can reach it has full access",
  loopback: "no API token: reachable from this machine only",
} as const;

/** Prints the bound address and how the API is guarded; tests and scripts read this line. */
function announce(config: ServiceConfig, url: string): void {
  const message = `ThreadFlow listening on ${url} (${AUTH_NOTES[authMode(config)]})`;
  if (config.logFormat === "json") {
    console.log(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: message }));
  } else {
    console.log(message);
  }
}

async function shutDown(
  service: ThreadFlowApp,
  server: Deno.HttpServer<Deno.NetAddr>,
  engine: ThreadFlow,
  config: ServiceConfig,
  logger: Logger,
): Promise<void> {
  const deadline = Date.now() + config.drainMs;
  service.drain();
  service.closeWebSockets(1001, "ThreadFlow is shutting down.");
  // Stops accepting connections and lets requests in flight (submits) finish.
  await server.shutdown();
  if (engine.store.name === "memory") {
    // A memory store forgets queued tasks on exit, so run them first while time allows.
    await waitForIdle(engine, deadline);
  }
  const remaining = Math.max(0, deadline - Date.now());
  await engine.close({ drainMs: remaining });
  const counts = await engine.stats().then((stats) => stats.counts, () => undefined);
  logger.info("Engine closed.", { counts });
}

async function waitForIdle(engine: ThreadFlow, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const { counts } = await engine.stats();
    if (counts.queued === 0 && counts.running === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

if (import.meta.main) {
  countTimers(); // before anything sets one: /metrics reports the count
  Deno.exit(await main(Deno.args, Deno.env.toObject()));
}
