/**
 * Browser-test helpers: the real service (engine, Hono app, WebSocket hub)
 * on an ephemeral port, island bundles built fresh, and Chromium driven by
 * playwright-core.
 *
 * @module
 */

import { type Browser, chromium } from "playwright-core";
import { ThreadFlow, type ThreadFlowOptions } from "../../mod.ts";
import { createApp, type ThreadFlowApp } from "../../server/app.ts";
import { parseConfig } from "../../server/config.ts";
import { silentLogger } from "../../server/logger.ts";
import { build } from "../../scripts/build.ts";
import { serviceMissing } from "../_services.ts";

/** The Chromium the browser tests drive: `THREADFLOW_CHROMIUM`, or Debian's. */
export const CHROMIUM = Deno.env.get("THREADFLOW_CHROMIUM") ?? "/usr/bin/chromium";

/**
 * Why browser tests cannot run here, or `undefined` when they can. Reported
 * through `serviceMissing`: printed once, or thrown when CI requires Chromium
 * (`THREADFLOW_REQUIRE_SERVICES=1`).
 */
export function browserMissing(): string | undefined {
  let reason: string | undefined;
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    reason = `${CHROMIUM} is missing (install Debian's chromium package: apt-get install chromium)`;
  }
  return serviceMissing("Chromium", reason);
}

/** Where screenshots go (git-ignored). */
export const SCREENSHOTS = new URL("../screenshots/", import.meta.url);

/** Launches headless Chromium with the project's flags. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A running service for browser tests. */
export interface UiService {
  url: string;
  engine: ThreadFlow;
  service: ThreadFlowApp;
  /** While `true`, WebSocket upgrades are refused with 503 (the server "is down" for sockets). */
  refuseWebSockets: boolean;
  /** Closes every open WebSocket from the server side, as a crash or a proxy would. */
  killWebSockets(): void;
  /** Replaces the engine and app with new ones on the same port, as a server restart would. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

let built: Promise<unknown> | null = null;

/** Builds the island bundles (once per test process) and starts the service on 127.0.0.1:0. */
export async function startUiService(
  options: { engine?: ThreadFlowOptions; args?: string[] } = {},
): Promise<UiService> {
  built ??= build();
  await built;
  const parsed = parseConfig(["--port", "0", ...(options.args ?? [])], {});
  if (parsed.help) throw new Error("Tests do not ask for help.");
  const engine = await ThreadFlow.start({ workers: 2, ...options.engine });
  const service = createApp({ engine, config: parsed.config, logger: silentLogger() });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  // The hub keeps its sockets to itself; record them as they are made so a test can kill them.
  const sockets = new Set<WebSocket>();
  const upgrade = Deno.upgradeWebSocket;
  Deno.upgradeWebSocket = (request, options) => {
    const upgraded = upgrade(request, options);
    sockets.add(upgraded.socket);
    upgraded.socket.addEventListener("close", () => sockets.delete(upgraded.socket));
    return upgraded;
  };
  const state: UiService = {
    url: "",
    engine,
    service,
    refuseWebSockets: false,
    killWebSockets() {
      for (const socket of sockets) socket.close(1012, "Killed by the test.");
    },
    async restart() {
      const old = { engine: state.engine, service: state.service };
      old.service.drain();
      old.service.closeWebSockets(1012, "Restarting.");
      await old.engine.close({ drainMs: 0 });
      state.engine = await ThreadFlow.start({ workers: 2, ...options.engine });
      state.service = createApp({
        engine: state.engine,
        config: parsed.config,
        logger: silentLogger(),
      });
    },
    async close() {
      Deno.upgradeWebSocket = upgrade;
      state.service.drain();
      state.service.closeWebSockets();
      await server.shutdown();
      await state.engine.close({ drainMs: 0 });
    },
  };
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: (addr) => listening.resolve(addr),
  }, (request) => {
    if (state.refuseWebSockets && new URL(request.url).pathname === "/ws") {
      return new Response("WebSockets are refused by the test.", { status: 503 });
    }
    return state.service.fetch(request);
  });
  state.url = `http://127.0.0.1:${(await listening.promise).port}`;
  return state;
}
