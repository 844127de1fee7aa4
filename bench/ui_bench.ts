/**
 * Dashboard benchmark: time to first paint of `/` with 100,000 tasks in the
 * store, bundle size of each island (goal: all islands together at most 80 KB
 * minified), and frame times in Chromium while 5,000 events/s arrive.
 *
 * ```sh
 * deno run -A bench/ui_bench.ts     # standalone; or `deno task bench ui`
 * ```
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";
import { ThreadFlow } from "../mod.ts";
import { createApp, type ThreadFlowApp } from "../server/app.ts";
import { parseConfig } from "../server/config.ts";
import { silentLogger } from "../server/logger.ts";
import { build, type BuildResult } from "../scripts/build.ts";
import { type BenchRow, type BenchSection, percentile, printSection } from "./_report.ts";

const CHROMIUM = "/usr/bin/chromium";
const STORE_TASKS = 100_000;
const SCHEDULED_TASKS = 5_000;
const EVENTS_PER_SECOND = 5_000;
/** A noop task emits queued, started and succeeded. */
const EVENTS_PER_TASK = 3;
const LOAD_SECONDS = 5;
const PAINT_RUNS = 7;
const BUNDLE_GOAL_BYTES = 80_000;

interface Served {
  url: string;
  engine: ThreadFlow;
  service: ThreadFlowApp;
  close(): Promise<void>;
}

async function serve(): Promise<Served> {
  const parsed = parseConfig(["--port", "0"], {});
  if (parsed.help) throw new Error("unreachable");
  // Two workers are plenty for noop tasks and leave the CPU to the browser being measured.
  const engine = await ThreadFlow.start({ workers: 2 });
  const service = createApp({ engine, config: parsed.config, logger: silentLogger() });
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: (addr) => listening.resolve(addr) },
    service.fetch,
  );
  const { port } = await listening.promise;
  return {
    url: `http://127.0.0.1:${port}`,
    engine,
    service,
    async close() {
      service.drain();
      service.closeWebSockets();
      await server.shutdown();
      await engine.close({ drainMs: 0 });
    },
  };
}

/** Fills the store: finished noop tasks, plus some scheduled an hour ahead. */
async function fillStore(engine: ThreadFlow, total: number, scheduled: number): Promise<void> {
  const batch = 10_000;
  for (let done = 0; done < total - scheduled; done += batch) {
    const n = Math.min(batch, total - scheduled - done);
    await engine.submitBatch(Array.from({ length: n }, (_, i) => ({
      type: "noop",
      payload: i,
      priority: 1 + (i % 10),
    })));
  }
  await engine.submitBatch(Array.from({ length: scheduled }, (_, i) => ({
    type: "noop",
    payload: i,
    priority: 1 + (i % 10),
    delayMs: 3_600_000,
  })));
  await drain(engine);
}

/** Waits until nothing is queued or running. */
async function drain(engine: ThreadFlow): Promise<void> {
  for (;;) {
    const { counts } = await engine.stats();
    if (counts.queued + counts.running === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The cost of loading one island alone: its file and every chunk it pulls in. */
function islandCost(manifest: BuildResult["manifest"], file: string): number {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const dep of manifest.imports[f] ?? []) visit(dep);
  };
  visit(file);
  return [...seen].reduce((sum, f) => sum + (manifest.sizes[f] ?? 0), 0);
}

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

async function bundleRows(result: BuildResult): Promise<{ rows: BenchRow[]; gzip: number }> {
  const { manifest } = result;
  const rows: BenchRow[] = [];
  for (const [name, file] of Object.entries(manifest.islands).sort()) {
    rows.push({
      name: `island ${name} (own file; with its chunks ${islandCost(manifest, file)} B)`,
      value: manifest.sizes[file],
      unit: "B",
    });
  }
  const shared = Object.keys(manifest.sizes).filter((f) => f.startsWith("chunk-"));
  rows.push({
    name: `shared chunks (Preact, signals, live state; ${shared.length} files)`,
    value: shared.reduce((sum, f) => sum + manifest.sizes[f], 0),
    unit: "B",
  });
  rows.push({ name: "island runtime (boot)", value: manifest.sizes[manifest.boot], unit: "B" });
  rows.push({
    name: `socket worker (with its chunks ${
      islandCost(manifest, manifest.entries["socket-worker"])
    } B)`,
    value: manifest.sizes[manifest.entries["socket-worker"]],
    unit: "B",
  });
  let gzip = 0;
  for (const file of Object.keys(manifest.sizes)) {
    gzip += await gzipSize(await Deno.readFile(new URL(file, result.outDir)));
  }
  rows.push({
    name: `all bundles together, minified (gzip ${gzip} B)`,
    value: result.totalBytes,
    unit: "B",
    goal: `< ${BUNDLE_GOAL_BYTES} B`,
    ok: result.totalBytes < BUNDLE_GOAL_BYTES,
  });
  return { rows, gzip };
}

async function firstPaint(browser: Browser, url: string) {
  const paints: number[] = [];
  const contentful: number[] = [];
  const live: number[] = [];
  for (let i = 0; i < PAINT_RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('.conn[data-state="live"]');
    const timing = await page.evaluate(() => {
      const entries = performance.getEntriesByType("paint");
      const find = (name: string) => entries.find((e) => e.name === name)?.startTime ?? NaN;
      return {
        fp: find("first-paint"),
        fcp: find("first-contentful-paint"),
        now: performance.now(),
      };
    });
    paints.push(timing.fp);
    contentful.push(timing.fcp);
    live.push(timing.now);
    await context.close();
  }
  return { paints, contentful, live };
}

async function serverRender(url: string, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const res = await fetch(url, { headers: { accept: "text/html" } });
    await res.text();
    times.push(performance.now() - started);
  }
  return times;
}

/**
 * Counts what reaches the page's main thread: WebSocket frames when the page
 * holds the socket, or the socket worker's batches (and the events in them).
 */
const PAGE_PROBE = `
  (() => {
    globalThis.__tfMessages = 0;
    globalThis.__tfEvents = 0;
    const NativeSocket = WebSocket;
    globalThis.WebSocket = class extends NativeSocket {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", () => { globalThis.__tfMessages++; globalThis.__tfEvents++; });
      }
    };
    const NativeWorker = Worker;
    globalThis.Worker = class extends NativeWorker {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (event) => {
          globalThis.__tfMessages++;
          const data = event.data;
          globalThis.__tfEvents += data && data.kind === "events"
            ? data.tasks.length + data.workers.length
            : 1;
        });
      }
    };
  })();
`;

async function measureFrames(page: Page, seconds: number) {
  return await page.evaluate(async (ms) => {
    const gaps: number[] = [];
    const longTasks: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longTasks.push(entry.duration);
    });
    observer.observe({ type: "longtask", buffered: false });
    const probe = globalThis as unknown as { __tfMessages: number; __tfEvents: number };
    const startMessages = probe.__tfMessages;
    const startEvents = probe.__tfEvents;
    const start = performance.now();
    await new Promise<void>((resolve) => {
      let last = start;
      const tick = (now: number) => {
        gaps.push(now - last);
        last = now;
        if (now - start < ms) requestAnimationFrame(tick);
        else resolve();
      };
      requestAnimationFrame(tick);
    });
    observer.disconnect();
    const elapsed = performance.now() - start;
    const seconds = elapsed / 1000;
    return {
      gaps,
      longTasks,
      messagesPerSecond: (probe.__tfMessages - startMessages) / seconds,
      eventsPerSecond: (probe.__tfEvents - startEvents) / seconds,
    };
  }, seconds * 1000);
}

/** Submits noop tasks every 50 ms so the engine emits about `eventsPerSecond` events. */
function startLoad(engine: ThreadFlow, eventsPerSecond: number): { stop(): Promise<number> } {
  let events = 0;
  const off = engine.on(() => events++);
  let running = true;
  const loop = (async () => {
    const started = performance.now();
    let submitted = 0;
    for (let tick = 0; running; tick++) {
      // Catch up to the target rate, so a slow tick does not lower it.
      const due = Math.round(
        ((performance.now() - started) / 1000) * eventsPerSecond /
          EVENTS_PER_TASK,
      ) - submitted;
      if (due > 0) {
        await engine.submitBatch(
          Array.from({ length: due }, (_, i) => ({ type: "noop", payload: i })),
        );
        submitted += due;
      }
      const wait = started + (tick + 1) * 50 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return (performance.now() - started) / 1000;
  })();
  return {
    async stop() {
      running = false;
      const seconds = await loop;
      off();
      return events / seconds;
    },
  };
}

/** Chromium's cumulative main-thread timings (seconds) from the DevTools Performance domain. */
async function mainThreadMetrics(
  cdp: {
    send(method: "Performance.getMetrics"): Promise<{ metrics: { name: string; value: number }[] }>;
  },
): Promise<Record<string, number>> {
  const { metrics } = await cdp.send("Performance.getMetrics");
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
}

function frameRows(
  label: string,
  gaps: number[],
  longTasks: number[],
  baseline?: number[],
): BenchRow[] {
  // The first gap includes the wait for the first frame.
  const frames = gaps.slice(1);
  const base = baseline?.slice(1);
  const compare = (p: number) =>
    base
      ? {
        baseline: `blank page, same load: ${percentile(base, p).toFixed(1)} ms`,
        ratio: percentile(frames, p) / percentile(base, p),
      }
      : {};
  return [
    { name: `${label}: frame time p50`, value: percentile(frames, 50), unit: "ms", ...compare(50) },
    {
      name: `${label}: frame time p95`,
      value: percentile(frames, 95),
      unit: "ms",
      ...compare(95),
      goal: "≤ 33 ms (30 fps)",
      ok: percentile(frames, 95) <= 33.4,
    },
    { name: `${label}: frame time max`, value: Math.max(...frames), unit: "ms" },
    { name: `${label}: long tasks (> 50 ms)`, value: longTasks.length, unit: "count" },
  ];
}

/** Runs the dashboard benchmark and returns its table. */
export async function run(): Promise<BenchSection> {
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    throw new Error(`The UI benchmark needs Chromium at ${CHROMIUM}.`);
  }
  const built = await build();
  const bundles = await bundleRows(built);
  const served = await serve();
  const browser = await chromium.launch({
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
  try {
    const fillStarted = performance.now();
    await fillStore(served.engine, STORE_TASKS, SCHEDULED_TASKS);
    const fillMs = performance.now() - fillStarted;
    // The first renders run unoptimized code: reported apart, then 50 steady-state runs.
    const [coldRender] = await serverRender(`${served.url}/`, 1);
    await serverRender(`${served.url}/`, 10);
    await serverRender(`${served.url}/tasks`, 10);
    const render = await serverRender(`${served.url}/`, 50);
    const renderTasks = await serverRender(`${served.url}/tasks`, 50);
    const paint = await firstPaint(browser, `${served.url}/`);

    const rows: BenchRow[] = [
      {
        name: `server render of / (${STORE_TASKS} tasks in store), first request`,
        value: coldRender,
        unit: "ms",
      },
      {
        name: `server render of / (${STORE_TASKS} tasks in store), p50 of 50 after 10 warm-up`,
        value: percentile(render, 50),
        unit: "ms",
        goal: "≤ 5 ms",
        ok: percentile(render, 50) <= 5,
      },
      {
        name: `server render of / (${STORE_TASKS} tasks in store), p95`,
        value: percentile(render, 95),
        unit: "ms",
      },
      {
        name: `server render of /tasks (${STORE_TASKS} tasks in store), p50`,
        value: percentile(renderTasks, 50),
        unit: "ms",
      },
      {
        name: `first paint of / in Chromium, median of ${PAINT_RUNS}`,
        value: percentile(paint.paints, 50),
        unit: "ms",
      },
      {
        name: "first contentful paint of /, median",
        value: percentile(paint.contentful, 50),
        unit: "ms",
      },
      {
        name: "navigation start → islands hydrated and live, median",
        value: percentile(paint.live, 50),
        unit: "ms",
      },
      ...bundles.rows,
    ];

    const details: Record<string, unknown> = {
      fillMs,
      render,
      paint,
      loadAverage: await Deno.readTextFile("/proc/loadavg").catch(() => null),
      cpus: navigator.hardwareConcurrency,
    };
    // The machine's own share: a blank page's frames while the same load runs (no dashboard).
    const blankContext = await browser.newContext();
    const blank = await blankContext.newPage();
    await blank.addInitScript(PAGE_PROBE);
    await blank.setContent("<!DOCTYPE html><p>blank</p>");
    const blankLoad = startLoad(served.engine, EVENTS_PER_SECOND);
    const blankFrames = await measureFrames(blank, LOAD_SECONDS);
    await blankLoad.stop();
    await blankContext.close();
    await drain(served.engine);
    rows.push(...frameRows(
      `blank page at ${EVENTS_PER_SECOND} events/s (machine baseline)`,
      blankFrames.gaps,
      blankFrames.longTasks,
    ));

    for (const path of ["/", "/tasks"]) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.addInitScript(PAGE_PROBE);
      await page.goto(`${served.url}${path}`);
      await page.waitForSelector('.conn[data-state="live"]');
      const cdp = await context.newCDPSession(page);
      await cdp.send("Performance.enable");
      const idle = await measureFrames(page, 2);
      const load = startLoad(served.engine, EVENTS_PER_SECOND);
      const before = await mainThreadMetrics(cdp);
      const busy = await measureFrames(page, LOAD_SECONDS);
      const after = await mainThreadMetrics(cdp);
      const engineEventsPerSecond = await load.stop();
      const wall = after.Timestamp - before.Timestamp;
      const share = (key: string) => (after[key] - before[key]) / wall;
      rows.push(...frameRows(`${path} idle`, idle.gaps, idle.longTasks));
      rows.push({
        name: `${path} under load: engine events/s (goal ${EVENTS_PER_SECOND})`,
        value: engineEventsPerSecond,
        unit: "events/s",
      });
      rows.push({
        name: `${path} under load: messages/s reaching the page's main thread`,
        value: busy.messagesPerSecond,
        unit: "msg/s",
      });
      rows.push({
        name: `${path} under load: task snapshots/s reaching the page (latest per task)`,
        value: busy.eventsPerSecond,
        unit: "events/s",
      });
      rows.push({
        name: `${path} under load: page main thread busy (script ${
          Math.round(share("ScriptDuration") * 100)
        }%, style+layout ${
          Math.round((share("RecalcStyleDuration") + share("LayoutDuration")) * 100)
        }%)`,
        value: share("TaskDuration") * 100,
        unit: "%",
        goal: "< 50%",
        ok: share("TaskDuration") < 0.5,
      });
      rows.push(
        ...frameRows(
          `${path} at ${EVENTS_PER_SECOND} events/s`,
          busy.gaps,
          busy.longTasks,
          blankFrames.gaps,
        ),
      );
      details[`frames ${path}`] = { idle: idle.gaps.length, busy: busy.gaps.length };
      await context.close();
      await drain(served.engine);
    }
    return { title: "Dashboard", rows, details };
  } finally {
    await browser.close();
    await served.close();
  }
}

if (import.meta.main) {
  const section = await run();
  printSection(section);
}
