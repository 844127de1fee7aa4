/**
 * Test helpers: a real engine and a real server on an ephemeral port.
 *
 * @module
 */

import { ThreadFlow, type ThreadFlowOptions } from "../../mod.ts";
import { type AppOptions, createApp, type ThreadFlowApp } from "../../server/app.ts";
import { parseConfig, type ServiceConfig } from "../../server/config.ts";
import { silentLogger } from "../../server/logger.ts";

/** A running service for one test. */
export interface TestService {
  url: string;
  wsUrl: string;
  engine: ThreadFlow;
  service: ThreadFlowApp;
  config: ServiceConfig;
  close(): Promise<void>;
}

/** Options of {@linkcode startService}. */
export interface TestServiceOptions {
  /** Flags, as on the command line. */
  args?: string[];
  engine?: ThreadFlowOptions;
  app?: AppOptions;
}

/** Starts an engine with two workers and serves the app on 127.0.0.1:0. */
export async function startService(options: TestServiceOptions = {}): Promise<TestService> {
  const parsed = parseConfig(["--port", "0", ...(options.args ?? [])], {});
  if (parsed.help) throw new Error("Tests do not ask for help.");
  const config = parsed.config;
  const engine = await ThreadFlow.start({ workers: 2, ...options.engine });
  let port = 0;
  const service = createApp(
    { engine, config, logger: silentLogger(), httpPort: () => port },
    options.app,
  );
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: (addr) => listening.resolve(addr),
  }, service.fetch);
  const addr = await listening.promise;
  port = addr.port;
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${addr.port}/ws`,
    engine,
    service,
    config,
    async close() {
      service.drain();
      service.closeWebSockets();
      await server.shutdown();
      await engine.close({ drainMs: 0 });
    },
  };
}

/** Sends JSON and reads the JSON answer. */
export async function requestJson(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
  }
  const response = await fetch(url, { method: init.method ?? "GET", headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) };
}
