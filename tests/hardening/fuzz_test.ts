/**
 * Seeded fuzz test over every HTTP route (enumerated from /api/openapi.json,
 * the original endpoints included, plus /ws and the dashboard) and the WebSocket.
 *
 * The service runs as a `main.ts` subprocess: a crash, an abort or an
 * uncaught error shows up as a dead process that the test sees, instead of
 * killing the test runner with it, and RSS is the server's alone.
 *
 * Replay a run with `THREADFLOW_SEED=<seed> deno test -A tests/hardening/fuzz_test.ts`.
 */

import { ok as assert } from "node:assert/strict";
import { decode } from "@msgpack/msgpack";
import { Random, seedFromEnv } from "./_random.ts";
import {
  badBody,
  badFrame,
  badId,
  badQuery,
  type BodyCase,
  EVIL_TYPES,
  type FrameCase,
  pollutingJson,
} from "./_fuzz_inputs.ts";
import {
  FIXTURE_TASKS,
  isErrorShape,
  type MainProcess,
  postJson,
  send,
  spawnMain,
} from "./_service.ts";
import { RawSocket } from "../_raw_websocket.ts";
import { startService } from "../server/_service.ts";

const SEED = seedFromEnv();
const HTTP_CASES = 2_400;
const WS_FRAMES = 600;
const MAX_BODY = 256 * 1024;
/** How much the server's RSS may grow over the whole run. */
const RSS_BOUND_BYTES = 128 * 1024 * 1024;
const CONCURRENCY = 8;
/** Malformed WebSocket messages the server tolerates per connection (README). */
const MALFORMED_LIMIT = 20;

interface Route {
  method: string;
  /** OpenAPI path, e.g. `/api/tasks/{id}`. */
  path: string;
  query: string[];
  hasBody: boolean;
  /** Whether errors must carry the JSON error shape (not the HTML dashboard). */
  api: boolean;
  /** The original endpoints' errors are `{ error: "<message>" }` instead. */
  plain?: boolean;
}

async function routesOf(service: MainProcess): Promise<Route[]> {
  const doc = (await send(`${service.url}/api/openapi.json`)).json as {
    paths: Record<
      string,
      Record<string, { parameters?: { name: string; in: string }[]; tags?: string[] }>
    >;
  };
  const routes: Route[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      routes.push({
        method: method.toUpperCase(),
        path,
        query: (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name),
        hasBody: method === "post",
        api: true,
        plain: operation.tags?.includes("original") ?? false,
      });
    }
  }
  // Not in the OpenAPI document: the WebSocket's upgrade route, unknown paths, the dashboard.
  routes.push(
    { method: "GET", path: "/ws", query: ["encoding", "token"], hasBody: false, api: true },
    { method: "GET", path: "/api/nope/{id}", query: [], hasBody: false, api: true },
    // Dashboard pages answer HTML: checked for "never 5xx" only.
    { method: "GET", path: "/tasks/{id}", query: ["status"], hasBody: false, api: false },
    { method: "GET", path: "/static/{id}", query: ["v"], hasBody: false, api: false },
    { method: "GET", path: "/islands/{id}", query: [], hasBody: false, api: false },
  );
  return routes;
}

interface HttpCase {
  index: number;
  route: Route;
  method: string;
  url: string;
  body: BodyCase | undefined;
  /** Certainly invalid: the answer must be 4xx. */
  bad: boolean;
}

function httpCase(
  random: Random,
  index: number,
  base: string,
  routes: Route[],
  realIds: string[],
): HttpCase {
  const route = random.pick(routes);
  let bad = false;
  let path = route.path;
  if (path.includes("{id}")) {
    const id = badId(random, realIds);
    // A real id is fine, and an id that decodes to one (trailing %20 etc.) may be too.
    if (!realIds.includes(id) && !/[%]/.test(id) && !realIds.includes(id.toUpperCase())) {
      bad = route.api && id !== "";
    }
    path = path.replace("{id}", id);
  }
  const query = random.chance(0.6) ? `?${badQuery(random, route.query)}` : "";
  let method = route.method;
  if (random.chance(0.08)) {
    method = random.pick(["PUT", "DELETE", "PATCH", route.method === "GET" ? "POST" : "GET"]);
    bad = false;
  }
  const body = route.hasBody && method === "POST"
    ? badBody(random, MAX_BODY, route.path.endsWith("/batch"))
    : undefined;
  if (body?.bad && route.path !== "/submit") bad = true;
  if (body?.kind === "oversized" || body?.kind === "oversized-chunked") bad = true;
  return { index, route, method, url: `${base}${path}${query}`, body, bad };
}

function describe(c: HttpCase): string {
  const url = c.url.length > 160 ? `${c.url.slice(0, 160)}...` : c.url;
  return `#${c.index} ${c.method} ${url} body=${c.body?.kind ?? "none"} ct=${c.body?.contentType}`;
}

async function runHttpCase(c: HttpCase, failures: string[], statuses: Map<number, number>) {
  const headers: Record<string, string> = {};
  if (c.body?.contentType !== undefined) headers["content-type"] = c.body.contentType;
  let status: number;
  let answer;
  try {
    answer = await send(c.url, {
      method: c.method,
      headers,
      body: c.body?.body,
      signal: AbortSignal.timeout(15_000),
    });
    status = answer.status;
  } catch (error) {
    failures.push(`${describe(c)}: no answer (${(error as Error).message})`);
    return;
  }
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  if (status >= 500) {
    failures.push(`${describe(c)}: ${status} ${answer.text.slice(0, 200)}`);
  } else if (c.bad && status < 400) {
    failures.push(`${describe(c)}: expected a 4xx, got ${status} ${answer.text.slice(0, 200)}`);
  } else if (status >= 400 && c.route.api && !c.route.plain && !isErrorShape(answer.json)) {
    failures.push(
      `${describe(c)}: ${status} without the error shape: ${answer.text.slice(0, 200)}`,
    );
  } else if (status >= 400 && c.route.plain && !isPlainErrorShape(answer.json)) {
    failures.push(
      `${describe(c)}: ${status} without the error shape: ${answer.text.slice(0, 200)}`,
    );
  }
}

/** The original endpoints' error shape: `{ error: "<message>" }`. */
function isPlainErrorShape(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return typeof error === "string" && error.length > 0;
}

async function noopSucceeds(url: string): Promise<boolean> {
  const submitted = await postJson(`${url}/api/tasks`, { type: "noop", payload: { alive: 1 } });
  if (submitted.status !== 201) return false;
  const id = (submitted.json as { task: { id: string } }).task.id;
  const waited = await send(`${url}/api/tasks/${id}/wait?timeoutMs=20000`);
  return (waited.json as { task?: { status?: string } }).task?.status === "succeeded";
}

/** Connects a WebSocket and waits for `hello`; messages are decoded into `inbox`. */
async function connectWs(
  url: string,
  inbox: Record<string, unknown>[],
): Promise<{ socket: WebSocket; closed: Promise<CloseEvent> }> {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const opened = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<CloseEvent>();
  socket.onopen = () => opened.resolve();
  socket.onerror = () => opened.reject(new Error("WebSocket failed to open."));
  socket.onclose = (event) => closed.resolve(event);
  socket.onmessage = (event) => {
    const message = typeof event.data === "string"
      ? JSON.parse(event.data)
      : decode(new Uint8Array(event.data));
    inbox.push(message as Record<string, unknown>);
  };
  await opened.promise;
  return { socket, closed: closed.promise };
}

const WS_ANSWERS = new Set([
  "hello",
  "error",
  "ack",
  "pong",
  "subscribed",
  "unsubscribed",
  "resync",
  "stats",
]);

async function fuzzWebSocket(
  random: Random,
  service: MainProcess,
  realIds: string[],
  failures: string[],
): Promise<{ frames: number; reconnects: number; closeCodes: Map<number, number> }> {
  const wsUrl = `${service.url.replace("http", "ws")}/ws`;
  const inbox: Record<string, unknown>[] = [];
  let connection = await connectWs(wsUrl, inbox);
  let reconnects = 0;
  /** `error` messages on the current connection: the server closes (1008) at its 20th. */
  let errorsOnConnection = 0;
  const closeCodes = new Map<number, number>();
  for (let i = 0; i < WS_FRAMES; i++) {
    const frame: FrameCase = badFrame(random, MAX_BODY, realIds);
    const describeFrame = `ws #${i} ${frame.kind}`;
    inbox.length = 0;
    const pingRef = `ping-${i}`;
    let closedEvent: CloseEvent | undefined;
    const closedOrTimeout = connection.closed.then((event) => (closedEvent = event));
    connection.socket.send(frame.data);
    connection.socket.send(JSON.stringify({ type: "ping", ref: pingRef }));
    const deadline = Date.now() + 15_000;
    while (
      !inbox.some((m) => m.type === "pong" && m.ref === pingRef) && closedEvent === undefined &&
      Date.now() < deadline
    ) {
      await Promise.race([closedOrTimeout, new Promise((resolve) => setTimeout(resolve, 2))]);
    }
    const answers = inbox.filter((m) => !(m.type === "pong" && m.ref === pingRef));
    errorsOnConnection += answers.filter((m) => m.type === "error").length;
    for (const message of answers) {
      const type = String(message.type);
      if (!WS_ANSWERS.has(type) && !type.startsWith("task.") && !type.startsWith("worker.")) {
        failures.push(`${describeFrame}: unexpected message type ${type}`);
      }
      if (type === "error" && !isErrorShape(message)) {
        failures.push(
          `${describeFrame}: error without the error shape: ${JSON.stringify(message)}`,
        );
      }
    }
    if (closedEvent !== undefined) {
      closeCodes.set(closedEvent.code, (closeCodes.get(closedEvent.code) ?? 0) + 1);
      // At the malformed limit the server sends 1008 and drops the TCP connection; a client
      // still writing may see the reset before the close frame (code 0 or 1006).
      const atLimit = frame.bad && errorsOnConnection >= MALFORMED_LIMIT - 1;
      if (closedEvent.code !== 1008 && closedEvent.code !== 1009 && !atLimit) {
        failures.push(`${describeFrame}: closed with ${closedEvent.code} ${closedEvent.reason}`);
      }
      if (service.dead) {
        failures.push(`${describeFrame}: the service died`);
        break;
      }
      connection = await connectWs(wsUrl, inbox);
      errorsOnConnection = 0;
      reconnects++;
      continue;
    }
    if (!inbox.some((m) => m.type === "pong" && m.ref === pingRef)) {
      failures.push(`${describeFrame}: no pong within 15 s`);
      break;
    }
    if (frame.bad && !answers.some((m) => m.type === "error")) {
      failures.push(`${describeFrame}: no error message for a malformed frame`);
    }
  }
  connection.socket.close();
  await connection.closed;
  return { frames: WS_FRAMES, reconnects, closeCodes };
}

/** Frames only a raw client can send: invalid UTF-8 text, one frame over 64 MiB. */
async function fuzzRawFrames(service: MainProcess, failures: string[]): Promise<string[]> {
  const seen: string[] = [];
  const utf8 = await RawSocket.connect(service.port);
  try {
    await utf8.sendFrame(1, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    const code = await utf8.readUntilClose(10_000);
    seen.push(`invalid UTF-8 text frame -> close ${code}`);
    if (code !== 1007 && code !== 1002 && code !== 1008 && code !== null) {
      failures.push(`raw: invalid UTF-8 text frame closed with ${code}`);
    }
  } finally {
    utf8.close();
  }
  const huge = await RawSocket.connect(service.port);
  try {
    const texts: string[] = [];
    const payload = new Uint8Array(65 * 1024 * 1024).fill(0x20);
    const sending = huge.sendFrame(2, payload).catch(() => {});
    const code = await huge.readUntilClose(30_000, texts);
    await sending;
    const answered = texts.some((text) => text.includes('"error"'));
    seen.push(`65 MiB binary frame -> close ${code}${answered ? " after an error message" : ""}`);
    // Over Deno's own 64 MiB message limit the connection is dropped; the 1009 close frame is
    // often lost to the TCP reset while the client is still writing, hence null is accepted.
    if (code !== 1009 && code !== null && !answered) {
      failures.push(`raw: 65 MiB frame -> close ${code}`);
    }
  } finally {
    huge.close();
  }
  return seen;
}

Deno.test({
  name: `fuzz: every HTTP route and /ws answer hostile input with 4xx JSON errors (seed ${SEED})`,
  fn: async () => {
    const random = new Random(SEED);
    const service = await spawnMain([
      "--workers",
      "1",
      "--max-body",
      String(MAX_BODY),
      "--tasks-dir",
      FIXTURE_TASKS,
      "--drain-ms",
      "1000",
      "--log-level",
      "error",
    ]);
    const failures: string[] = [];
    try {
      const realIds: string[] = [];
      for (let i = 0; i < 5; i++) {
        const answer = await postJson(`${service.url}/api/tasks`, { type: "noop", payload: i });
        realIds.push((answer.json as { task: { id: string } }).task.id);
      }
      for (const id of realIds) await send(`${service.url}/api/tasks/${id}/wait?timeoutMs=10000`);
      const routes = await routesOf(service);
      assert(routes.length >= 13, `Expected the documented routes, found ${routes.length}.`);
      // Warm up (JIT, lazily loaded dashboard files) before the RSS baseline.
      for (const route of routes) {
        if (!route.hasBody) await send(`${service.url}${route.path.replace("{id}", realIds[0])}`);
      }
      const rssBefore = await service.rss();

      const cases = Array.from(
        { length: HTTP_CASES },
        (_, i) => httpCase(random, i, service.url, routes, realIds),
      );
      const statuses = new Map<number, number>();
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length && !service.dead) {
          await runHttpCase(cases[next++], failures, statuses);
        }
      }));
      assert(!service.dead, `The service died during the HTTP cases (seed ${SEED}).`);

      const ws = await fuzzWebSocket(random, service, realIds, failures);
      const raw = await fuzzRawFrames(service, failures);
      assert(!service.dead, `The service died during the WebSocket cases (seed ${SEED}).`);

      // Every type name that tries to leave tasksDir is refused and names the field.
      for (const type of EVIL_TYPES) {
        const answer = await postJson(`${service.url}/api/tasks`, { type });
        if (answer.status !== 400 || !isErrorShape(answer.json)) {
          failures.push(
            `type ${JSON.stringify(type)}: ${answer.status} ${answer.text.slice(0, 200)}`,
          );
        }
      }
      // The worker realm was not polluted either.
      const probe = await postJson(`${service.url}/api/tasks`, {
        type: "probe",
        payload: JSON.parse(pollutingJson(new Random(1), (inner) => inner)),
      });
      if (probe.status === 201) {
        const id = (probe.json as { task: { id: string } }).task.id;
        const done = await send(`${service.url}/api/tasks/${id}/wait?timeoutMs=20000`);
        const result = (done.json as { task: { result: { polluted: boolean } } }).task.result;
        if (result?.polluted !== false) {
          failures.push(`probe: worker realm ${JSON.stringify(result)}`);
        }
      }

      assert(await noopSucceeds(service.url), "A normal task no longer succeeds after the fuzz.");
      const health = await send(`${service.url}/health`);
      assert(health.status === 200, `/health answered ${health.status} after the fuzz.`);
      const rssAfter = await service.rss();
      const growth = rssAfter - rssBefore;
      console.log(
        `fuzz seed ${SEED}: ${HTTP_CASES} HTTP cases ${
          JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))
        }; ${ws.frames} WS frames (${ws.reconnects} reconnects, closes ${
          JSON.stringify(Object.fromEntries(ws.closeCodes))
        }); ${raw.join("; ")}; RSS ${mib(rssBefore)} -> ${mib(rssAfter)} MiB`,
      );
      if (growth > RSS_BOUND_BYTES) {
        failures.push(`RSS grew by ${mib(growth)} MiB (bound ${mib(RSS_BOUND_BYTES)} MiB)`);
      }
    } finally {
      const status = await service.stop();
      if (failures.length === 0 && !status.success) {
        failures.push(`main.ts exited with ${status.code} on SIGTERM`);
      }
    }
    if (failures.length > 0) {
      throw new Error(
        `Fuzz found ${failures.length} problem(s); replay with THREADFLOW_SEED=${SEED}:\n` +
          failures.slice(0, 30).join("\n"),
      );
    }
  },
});

Deno.test("fuzz: __proto__ and constructor keys pollute nothing in the service's realm", async () => {
  const before = Object.getOwnPropertyNames(Object.prototype).sort().join(",");
  const service = await startService({ engine: { workers: 1, tasksDir: FIXTURE_TASKS } });
  try {
    const random = new Random(SEED);
    for (let i = 0; i < 40; i++) {
      const single = pollutingJson(random, (inner) => inner);
      const batch = pollutingJson(random, (inner) => `{"tasks":[${inner}]}`);
      for (const [path, body] of [["/api/tasks", single], ["/api/tasks/batch", batch]]) {
        const answer = await send(`${service.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        assert(answer.status < 500, `${path} ${body}: ${answer.status}`);
      }
      await send(
        `${service.url}/api/tasks?__proto__[polluted]=1&constructor[prototype][polluted]=1`,
      );
    }
    const inbox: Record<string, unknown>[] = [];
    const ws = await connectWs(service.wsUrl, inbox);
    ws.socket.send(pollutingJson(random, (inner) => `{"type":"submit","ref":1,"task":${inner}}`));
    ws.socket.send('{"type":"subscribe","ref":2,"filter":{"__proto__":{"polluted":1}}}');
    ws.socket.send('{"__proto__":{"polluted":1},"type":"ping","ref":3}');
    while (!inbox.some((m) => m.type === "pong")) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    ws.socket.close();
    await ws.closed;
    const plain: Record<string, unknown> = {};
    assert(plain.polluted === undefined, "Object.prototype.polluted was set.");
    assert(
      Object.getOwnPropertyNames(Object.prototype).sort().join(",") === before,
      "Object.prototype gained properties.",
    );
    assert(typeof plain.toString === "function", "Object.prototype.toString was replaced.");
  } finally {
    await service.close();
  }
});

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
