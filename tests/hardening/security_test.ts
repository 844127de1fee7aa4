/**
 * Security checks against a real `main.ts` subprocess: the token never leaks
 * (logs, error bodies, /metrics), wrong tokens of every shape are refused,
 * the WebSocket checks `Origin` when `--cors-origin` is set, the dashboard
 * sends its security headers, and WebSocket limits cannot be turned into a
 * flood.
 *
 * Constant-time comparison is checked by reading the code (a timing test
 * would be flaky): server/middleware/auth.ts `timingSafeEqual` walks the whole
 * expected token and folds the length difference in; server/ui/mod.ts
 * `safeEqual` walks the longer of the two. Both are used for every token check
 * (HTTP, /ws, original endpoints, dashboard cookie).
 */

import { ok as assert } from "node:assert/strict";
import { isErrorShape, type MainProcess, send, spawnMain } from "./_service.ts";
import { RawSocket } from "../_raw_websocket.ts";

const TOKEN = "s3cret-Token-9f8e7d6c5b4a";

async function withService(
  args: string[],
  body: (service: MainProcess) => Promise<void>,
): Promise<MainProcess> {
  const service = await spawnMain(["--workers", "1", ...args]);
  try {
    await body(service);
  } finally {
    await service.stop();
  }
  return service;
}

Deno.test("security: the token never appears in logs, error answers or /metrics", async () => {
  const bodies: string[] = [];
  const service = await withService(
    ["--token", TOKEN, "--log-level", "debug", "--log-format", "json"],
    async (service) => {
      const auth = { authorization: `Bearer ${TOKEN}` };
      const wrongTokens = [
        "",
        "x",
        TOKEN.slice(0, -1),
        TOKEN + "x",
        TOKEN.toUpperCase(),
        `${TOKEN} ${TOKEN}`,
        "\u00e9".repeat(TOKEN.length),
      ];
      for (const wrong of wrongTokens) {
        for (const path of ["/api/stats", "/api/tasks", "/tasks", "/completed_tasks"]) {
          const answer = await send(`${service.url}${path}`, {
            headers: { authorization: `Bearer ${wrong}`, accept: "application/json" },
          });
          assert(answer.status === 401, `${path} with a wrong token: ${answer.status}`);
          // The original endpoints answer their own shape, { error: "<message>" }.
          const original = !path.startsWith("/api/");
          const shaped = original
            ? typeof (answer.json as { error?: unknown } | undefined)?.error === "string"
            : isErrorShape(answer.json);
          assert(shaped, `${path}: ${answer.text}`);
          bodies.push(answer.text);
        }
        const ws = await send(`${service.url}/ws?token=${encodeURIComponent(wrong)}`);
        assert(ws.status === 401, `/ws with a wrong token: ${ws.status}`);
        bodies.push(ws.text);
      }
      // Requests that carry the right token in every place it can go, and fail for other reasons.
      bodies.push(
        (await send(`${service.url}/api/tasks/nope?token=${TOKEN}`, { headers: auth })).text,
      );
      bodies.push(
        (await send(`${service.url}/api/tasks`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({ type: "nope", payload: { token: "t" } }),
        })).text,
      );
      bodies.push((await send(`${service.url}/api/tasks?cursor=${TOKEN}`, { headers: auth })).text);
      const good = await RawSocket.connect(service.port, `/ws?token=${TOKEN}`);
      good.close();
      const metrics = await send(`${service.url}/metrics`);
      bodies.push(metrics.text);
      const stats = await send(`${service.url}/api/stats`, { headers: auth });
      assert(stats.status === 200, `/api/stats with the token: ${stats.status}`);
      bodies.push(stats.text);
    },
  );
  const leaks = [...service.lines, ...bodies].filter((text) => text.includes(TOKEN));
  assert(leaks.length === 0, `The token leaked:\n${leaks.slice(0, 5).join("\n")}`);
  assert(service.lines.length > 10, "Expected debug log lines to search.");
});

Deno.test("security: the dashboard answers with CSP, X-Content-Type-Options and Referrer-Policy", async () => {
  await withService([], async (service) => {
    let pages = 0;
    for (const path of ["/", "/tasks", "/workers"]) {
      const answer = await send(`${service.url}${path}`, { headers: { accept: "text/html" } });
      if (answer.status === 404) continue;
      pages++;
      const csp = answer.headers.get("content-security-policy") ?? "";
      assert(csp.includes("default-src"), `${path}: CSP ${csp}`);
      assert(!/script-src[^;]*'unsafe-inline'/.test(csp), `${path}: inline script allowed: ${csp}`);
      assert(!/script-src[^;]*'unsafe-eval'/.test(csp), `${path}: eval allowed: ${csp}`);
      assert(answer.headers.get("x-content-type-options") === "nosniff", `${path}: nosniff`);
      assert(answer.headers.get("referrer-policy") !== null, `${path}: no Referrer-Policy`);
      // Every inline <script> must be allowed by a hash in the CSP (none without one).
      for (
        const match of answer.text.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)
      ) {
        const type = /type="([^"]+)"/.exec(match[0])?.[1];
        if (type === "application/json") continue; // Data, not script.
        const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(match[1]));
        const hash = `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
        assert(csp.includes(hash), `${path}: inline script without its hash ${hash} in the CSP`);
      }
    }
    assert(pages > 0, "No dashboard page answered.");
  });
});

Deno.test({
  name: "security: with --cors-origin, /ws refuses an upgrade from another Origin",
  fn: async () => {
    await withService(["--cors-origin", "http://app.example"], async (service) => {
      const allowed = await RawSocket.connect(service.port, "/ws", {
        Origin: "http://app.example",
      });
      allowed.close();
      const refused = await RawSocket.connect(service.port, "/ws", {
        Origin: "http://evil.example",
      }).then((socket) => {
        socket.close();
        return false;
      }, () => true);
      assert(refused, "An upgrade from http://evil.example was accepted.");
    });
  },
});

Deno.test("security: with --cors-origin, an allowed Origin and a same-host client still connect", async () => {
  await withService(["--cors-origin", "http://app.example"], async (service) => {
    const allowed = await RawSocket.connect(service.port, "/ws", { Origin: "http://app.example" });
    allowed.close();
    const noOrigin = await RawSocket.connect(service.port, "/ws");
    noOrigin.close();
  });
});

Deno.test({
  name: "security: a WebSocket stats interval beyond 2^31-1 ms is refused, not run every 1 ms",
  fn: async () => {
    await withService([], async (service) => {
      const socket = new WebSocket(`${service.url.replace("http", "ws")}/ws`);
      const messages: { type: string }[] = [];
      const closed = new Promise((resolve) => (socket.onclose = resolve));
      socket.onmessage = (event) => messages.push(JSON.parse(event.data));
      await new Promise((resolve) => (socket.onopen = resolve));
      socket.send(JSON.stringify({ type: "subscribe", ref: 1, stats: { intervalMs: 1e308 } }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      socket.close();
      await closed;
      const stats = messages.filter((m) => m.type === "stats").length;
      assert(messages.some((m) => m.type === "error"), `No error; ${stats} stats in 0.5 s.`);
      assert(stats <= 1, `${stats} stats messages in 0.5 s.`);
    });
  },
});
