import { h } from "preact";
import { renderDocument } from "../../server/ui/render.ts";
import App from "../../routes/_app.tsx";
import type { DashboardState } from "../../server/dashboard_state.ts";
import type { IslandManifest } from "../../server/ui/assets.ts";
import LiveCounters from "../../islands/LiveCounters.tsx";
import { deserializeProps } from "../../server/ui/shared/props.ts";
import { registerIsland } from "../../server/ui/islands.ts";
import type { DashboardStats } from "../../components/types.ts";
import { assert, assertEquals, assertNotIncludes, assertStringIncludes } from "./_assert.ts";

const latency = { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
const stats: DashboardStats = {
  nodeId: "n1",
  store: "memory",
  state: "running",
  uptimeMs: 1,
  counts: {
    blocked: 0,
    scheduled: 0,
    queued: 4,
    running: 1,
    succeeded: 2,
    failed: 0,
    cancelled: 0,
  },
  queuedByPriority: { "5": 4 },
  oldestQueuedAgeMs: { "5": 10 },
  throughput: { perSecond: [0, 1], last60s: 0.5 },
  waitMs: latency,
  runMs: latency,
  workers: { total: 1, busy: 1, idle: 0, restarts: 0 },
};
const manifest: IslandManifest = {
  islands: { LiveCounters: "LiveCounters-1.js", ConnectionStatus: "ConnectionStatus-2.js" },
  boot: "boot-3.js",
  entries: { "socket-worker": "socket-worker-4.js" },
  imports: { "boot-3.js": ["chunk-A.js"], "LiveCounters-1.js": ["chunk-A.js", "chunk-B.js"] },
  sizes: {},
};
registerIsland("LiveCounters", LiveCounters);
registerIsland("ConnectionStatus", (await import("../../islands/ConnectionStatus.tsx")).default);
const options = {
  app: App,
  state: { authOff: true } as DashboardState,
  title: "Test",
  url: new URL("http://x/"),
  locked: false,
  asset: (name: string) => `/static/${name}?v=1`,
};

Deno.test("a page with islands gets its island data, runtime script and preloads", () => {
  const html = renderDocument(h(LiveCounters, { stats }), { ...options, manifest });
  assert(html.startsWith('<!DOCTYPE html><html lang="en">'));
  assertStringIncludes(html, `<title>Test · ThreadFlow</title>`);
  assertStringIncludes(html, `data-counter="queued">4<`);
  for (const file of ["boot-3.js", "chunk-A.js", "chunk-B.js", "LiveCounters-1.js"]) {
    assertEquals(html.split(`<link rel="modulepreload" href="/islands/${file}">`).length, 2, file);
  }
  assertStringIncludes(html, `<script type="module" src="/islands/boot-3.js"></script></body>`);
  assertStringIncludes(
    html,
    `<meta name="tf-entry:socket-worker" content="/islands/socket-worker-4.js">`,
  );
  const json = /<script type="application\/json" id="tf-islands">(.*?)<\/script>/.exec(html)![1];
  const data = deserializeProps(json) as { urls: Record<string, string>; props: unknown[] };
  assertEquals(data.urls, {
    ConnectionStatus: "/islands/ConnectionStatus-2.js",
    LiveCounters: "/islands/LiveCounters-1.js",
  });
  assertEquals(data.props.length, 2);
  assertEquals(data.props.find((p) => (p as { stats?: unknown }).stats), { stats });
});

Deno.test("without built bundles a page is static and says how to build", () => {
  const html = renderDocument(h(LiveCounters, { stats }), { ...options, manifest: null });
  assertStringIncludes(html, "run `deno task build`");
  assertNotIncludes(html, "<script");
  assertStringIncludes(html, `data-counter="running">1<`);
});
