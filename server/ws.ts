/**
 * The `/ws` endpoint: engine events, submits and cancels over one WebSocket.
 *
 * Every message both ways is an object with a `type`. Text frames are JSON,
 * binary frames MessagePack; the server answers in the kind the client last
 * used. Events carry a growing `seq`; a bounded ring lets a client resume
 * with `subscribe { since }`. The ring holds events only while some client
 * may resume: while one is connected, and for the ring's age bound after the
 * last one left. See the README for the protocol.
 *
 * @module
 */

import type { ThreadFlowEvent } from "../engine/mod.ts";
import type { ServiceEngine } from "./engine_port.ts";
import type { Logger } from "./logger.ts";
import { errorBody } from "./errors.ts";
import { EventRing } from "./event_ring.ts";
import { eventToJson } from "./task_json.ts";
import { encodeMessage, type FrameEncoding } from "./ws_codec.ts";
import { Connection, type ConnectionHost, type ConnectionOptions } from "./ws_connection.ts";
import { bearerToken, timingSafeEqual } from "./middleware/auth.ts";
import type { WebSocketFigures } from "./metrics.ts";

/** Options of {@linkcode WebSocketHub}; the per-connection limits apply to every client. */
export interface WebSocketHubOptions extends ConnectionOptions {
  /** Token required to connect; `undefined` for none. */
  token?: string;
  /**
   * Browser origins allowed to connect besides the server's own (`--cors-origin`);
   * empty or missing lets every origin in, `*` too.
   */
  allowedOrigins?: string[];
  /** Events kept for resuming. Default 100,000. */
  ringSize?: number;
  /** How long (ms) an event is kept for resuming. Default 120,000 (two minutes). */
  ringMaxAgeMs?: number;
  /** Sent in `hello`. */
  version?: string;
}

/**
 * Accepts WebSocket upgrades and fans engine events out to subscribers.
 *
 * @example
 * ```ts ignore
 * const hub = new WebSocketHub(engine, logger, { token: "s3cret" });
 * app.get("/ws", (c) => hub.upgrade(c.req.raw));
 * ```
 */
export class WebSocketHub {
  readonly #engine: ServiceEngine;
  readonly #logger: Logger;
  readonly #options: WebSocketHubOptions;
  readonly #ring: EventRing;
  /**
   * Until when (`performance.now()`) the ring keeps events with no client
   * connected: its age bound after the last client left, for that client
   * may come back and resume. Before the first client and after that, no
   * client holds a `seq` the ring could answer, so it keeps nothing.
   */
  #keepUntil = 0;
  readonly #connections = new Set<Connection>();
  readonly #unsubscribe: () => void;
  #closedSlow = 0;
  #malformed = 0;
  #closed = false;
  /** What connections may call back into. */
  readonly #host: ConnectionHost;

  constructor(engine: ServiceEngine, logger: Logger, options: WebSocketHubOptions = {}) {
    this.#engine = engine;
    this.#logger = logger;
    const ringSize = options.ringSize ?? 100_000;
    // A client resuming from the oldest seq gets the whole ring: never count that as stuck.
    this.#options = {
      ...options,
      outbox: { maxHeld: Math.max(100_000, ringSize * 2), ...options.outbox },
    };
    this.#ring = new EventRing(ringSize, options.ringMaxAgeMs ?? 120_000);
    this.#host = {
      engine,
      logger,
      latestSeq: () => this.#ring.latestSeq,
      replay: (connection, since) => this.#replay(connection, since),
      countMalformed: () => this.#malformed++,
      countSlowClose: () => this.#closedSlow++,
    };
    this.#unsubscribe = engine.on((event) => this.#publish(event));
  }

  /** Counts for `/metrics`. */
  figures(): WebSocketFigures {
    return {
      clients: this.#connections.size,
      closedSlow: this.#closedSlow,
      malformed: this.#malformed,
    };
  }

  /** `seq` of the newest event seen. */
  get latestSeq(): number {
    return this.#ring.latestSeq;
  }

  /**
   * Answers an upgrade request: 401 without a valid token, 400 when it is not
   * a WebSocket request, else the 101 answer of `Deno.upgradeWebSocket`.
   */
  upgrade(request: Request): Response {
    if (this.#closed) {
      return Response.json(errorBody("closed", "ThreadFlow is shutting down."), { status: 503 });
    }
    const url = new URL(request.url);
    const offered = (request.headers.get("sec-websocket-protocol") ?? "")
      .split(",").map((protocol) => protocol.trim()).filter((protocol) => protocol);
    if (this.#options.token !== undefined && !this.#authorized(request, url, offered)) {
      return Response.json(
        errorBody(
          "unauthorized",
          "This server requires an API token: pass ?token=<token> or offer the " +
            "WebSocket protocol token.<token>.",
          "token",
        ),
        { status: 401 },
      );
    }
    if (!this.#originAllowed(request, url)) {
      return Response.json(
        errorBody(
          "forbidden",
          "This origin may not open the WebSocket: it is not in --cors-origin.",
          "origin",
        ),
        { status: 403 },
      );
    }
    const batch = url.searchParams.get("batch");
    if (batch !== null && batch !== "1" && batch !== "true") {
      return Response.json(
        errorBody(
          "validation_error",
          `batch must be 1 or true (to get one frame per event-loop turn); got "${
            batch.slice(0, 40)
          }".`,
          "batch",
        ),
        { status: 400 },
      );
    }
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return Response.json(
        errorBody(
          "bad_request",
          "This endpoint speaks WebSocket: send an Upgrade: websocket request.",
        ),
        { status: 400 },
      );
    }
    // A browser fails the connection unless the server picks one of the offered protocols.
    const protocol = offered.includes("threadflow") ? "threadflow" : offered[0];
    const { socket, response } = Deno.upgradeWebSocket(request, { protocol });
    const encoding: FrameEncoding = url.searchParams.get("encoding") === "msgpack"
      ? "msgpack"
      : "json";
    const options = batch === null
      ? this.#options
      : { ...this.#options, outbox: { ...this.#options.outbox, batch: true } };
    const connection = new Connection(this.#host, socket, encoding, options);
    socket.onopen = () => {
      if (this.#closed) {
        connection.close(1001, "ThreadFlow is shutting down.");
        return;
      }
      this.#connections.add(connection);
      connection.send({
        type: "hello",
        nodeId: this.#engine.nodeId,
        seq: this.#ring.latestSeq,
        version: this.#options.version ?? "0",
      });
    };
    socket.onmessage = (event) => connection.receive(event.data);
    socket.onclose = () => {
      connection.dispose();
      this.#connections.delete(connection);
      this.#keepUntil = performance.now() + this.#ring.maxAgeMs;
    };
    socket.onerror = () => {};
    return response;
  }

  /**
   * Browsers send `Origin` on every WebSocket upgrade and CORS does not
   * protect WebSockets, so with `--cors-origin` set the origin is checked
   * here. Clients that send none (not browsers) and the server's own pages pass.
   */
  #originAllowed(request: Request, url: URL): boolean {
    const allowed = this.#options.allowedOrigins ?? [];
    if (allowed.length === 0 || allowed.includes("*")) return true;
    const origin = request.headers.get("origin");
    if (origin === null) return true;
    if (allowed.includes(origin)) return true;
    const host = request.headers.get("host") ?? url.host;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }

  /** Closes every connection (1001 on shutdown) and stops listening to the engine. */
  close(code = 1001, reason = "ThreadFlow is shutting down."): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const connection of this.#connections) connection.close(code, reason);
  }

  #authorized(request: Request, url: URL, offered: string[]): boolean {
    const token = this.#options.token!;
    const candidates = [url.searchParams.get("token") ?? undefined];
    candidates.push(bearerToken(request.headers.get("authorization") ?? undefined));
    for (const protocol of offered) {
      if (protocol.startsWith("token.")) candidates.push(protocol.slice("token.".length));
    }
    let ok = false;
    for (const candidate of candidates) {
      if (candidate !== undefined && timingSafeEqual(candidate, token)) ok = true;
    }
    return ok;
  }

  #publish(event: ThreadFlowEvent): void {
    if (this.#connections.size === 0) {
      const now = performance.now();
      if (now < this.#keepUntil) this.#ring.push(event, now);
      else this.#ring.skip(event.seq);
      return;
    }
    this.#ring.push(event);
    // Encode once per frame kind, not once per client.
    let json: string | undefined;
    let packed: Uint8Array | undefined;
    const taskId = "task" in event ? event.task.id : undefined;
    const kind = event.type === "task.progress" ? "progress" : "other";
    for (const connection of this.#connections) {
      if (!connection.wants(event)) continue;
      if (connection.encoding === "json") {
        json ??= JSON.stringify(eventToJson(event));
        connection.outbox.push(json, kind, taskId);
      } else {
        packed ??= encodeMessage(
          event as unknown as Record<string, unknown>,
          "msgpack",
        ) as Uint8Array;
        connection.outbox.push(packed, kind, taskId);
      }
    }
  }

  #replay(connection: Connection, since: number): boolean {
    const result = this.#ring.since(since);
    if (!result.ok) return false;
    for (const event of result.events) {
      if (!connection.wants(event)) continue;
      const taskId = "task" in event ? event.task.id : undefined;
      connection.outbox.push(
        connection.encoding === "json"
          ? JSON.stringify(eventToJson(event))
          : encodeMessage(event as unknown as Record<string, unknown>, "msgpack"),
        "other",
        taskId,
      );
    }
    return true;
  }
}
