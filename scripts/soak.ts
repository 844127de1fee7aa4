/**
 * Soak test: `deno task soak [--minutes 10]`.
 *
 * Starts a real `main.ts` with a SQLite store, measures the most tasks per
 * second it finishes, then runs mixed traffic at about half of that for
 * `--minutes`, with cancels, timeouts, crashes and failing handlers sprinkled
 * in. Every minute it prints tasks/s, p99 latency (submit to terminal event),
 * the service's RSS, its workers and open timers (as the service reports
 * them). At the end it stops the service, opens the SQLite file read-only and
 * counts what the store holds: "lost" is every accepted task missing from the
 * store or not finished there. Exits 1 if anything was lost, a task ended
 * twice, or the service died.
 *
 * Flags: `--minutes N` (default 10, fractions allowed), `--workers N`
 * (default: the service's default), `--rate N` (tasks/s; skips measuring),
 * `--keep` (keep the SQLite file and print its path).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { FIXTURE_TASKS, type MainProcess, spawnMain } from "../tests/hardening/_service.ts";

/** Parsed command line. */
interface SoakOptions {
  minutes: number;
  workers?: number;
  rate?: number;
  keep: boolean;
}

/** What a kind of task should end as. */
interface Kind {
  name: string;
  /** Share of the traffic. */
  weight: number;
  body: Record<string, unknown>;
  expect: string[];
  /** Cancel it this many ms after submitting (random up to). */
  cancelWithinMs?: number;
}

const KINDS: Kind[] = [
  { name: "noop", weight: 40, body: { type: "noop", payload: { n: 1 } }, expect: ["succeeded"] },
  { name: "ok", weight: 25, body: { type: "ok", payload: "x" }, expect: ["succeeded"] },
  { name: "fib", weight: 15, body: { type: "fib", payload: { n: 20 } }, expect: ["succeeded"] },
  {
    name: "sha256",
    weight: 10,
    body: { type: "sha256", payload: { data: "soak", rounds: 50 } },
    expect: ["succeeded"],
  },
  {
    name: "cancel",
    weight: 3,
    body: { type: "sleep", payload: { ms: 1_000 } },
    expect: ["cancelled"],
    cancelWithinMs: 300,
  },
  {
    name: "timeout",
    weight: 2,
    body: { type: "hangs", timeoutMs: 200 },
    expect: ["failed"],
  },
  { name: "throws", weight: 3, body: { type: "throws" }, expect: ["failed"] },
  { name: "closes", weight: 1, body: { type: "closes" }, expect: ["failed"] },
  { name: "exits", weight: 1, body: { type: "exits" }, expect: ["failed"] },
  {
    name: "process",
    weight: 5,
    body: { type: "ok_process", payload: "p" },
    expect: ["succeeded"],
  },
  {
    name: "process timeout",
    weight: 1,
    body: { type: "spins_process", timeoutMs: 200 },
    expect: ["failed"],
  },
];
const TOTAL_WEIGHT = KINDS.reduce((sum, kind) => sum + kind.weight, 0);
const TERMINAL = new Set(["task.succeeded", "task.failed", "task.cancelled"]);
const MAX_IN_FLIGHT = 256;

function parseArgs(args: string[]): SoakOptions {
  const options: SoakOptions = { minutes: 10, keep: false };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = () => {
      const raw = args[++i];
      const number = Number(raw);
      if (raw === undefined || !Number.isFinite(number) || number <= 0) {
        throw new Error(`${flag} takes a positive number: received ${JSON.stringify(raw)}.`);
      }
      return number;
    };
    if (flag === "--minutes") options.minutes = value();
    else if (flag === "--workers") options.workers = Math.round(value());
    else if (flag === "--rate") options.rate = value();
    else if (flag === "--keep") options.keep = true;
    else throw new Error(`Unknown flag ${flag}: expected --minutes, --workers, --rate or --keep.`);
  }
  return options;
}

function pickKind(): Kind {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const kind of KINDS) {
    roll -= kind.weight;
    if (roll < 0) return kind;
  }
  return KINDS[0];
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** The service's own view: workers and open timers, from /metrics and /api/stats. */
async function serviceFigures(
  url: string,
): Promise<{ workers: string; timers: string; heap: string }> {
  const [metrics, stats] = await Promise.all([
    fetch(`${url}/metrics`).then((r) => r.text()),
    fetch(`${url}/api/stats`).then((r) => r.json()),
  ]);
  const timers = /^threadflow_\w*timers\w*(?:\{[^}]*\})?\s+(\d+)/m.exec(metrics)?.[1] ??
    stats.stats?.timers?.toString() ?? "n/a (not reported)";
  const heapBytes = /^threadflow_heap_used_bytes\s+(\d+)/m.exec(metrics)?.[1];
  const heap = heapBytes === undefined ? "n/a" : `${(Number(heapBytes) / 2 ** 20).toFixed(1)} MiB`;
  const workers = stats.stats.workers as { total: number; busy: number; restarts: number };
  return {
    heap,
    workers: `${workers.total} (${workers.busy} busy, ${workers.restarts} restarts)`,
    timers,
  };
}

/** Tracks every task this run submitted. */
class Ledger {
  readonly kindOf = new Map<string, Kind>();
  readonly submittedAt = new Map<string, number>();
  readonly ended = new Map<string, string>();
  readonly refused = new Map<string, number>();
  readonly waiters = new Map<string, () => void>();
  duplicates = 0;
  latencies: number[] = [];
  endedThisMinute = 0;

  onEvent(type: string, id: string): void {
    if (!TERMINAL.has(type)) return;
    if (this.ended.has(id)) {
      this.duplicates++;
      return;
    }
    this.ended.set(id, type.slice("task.".length));
    this.waiters.get(id)?.();
    this.waiters.delete(id);
    this.endedThisMinute++;
    const at = this.submittedAt.get(id);
    if (at !== undefined) this.latencies.push(performance.now() - at);
  }

  /** Resolves when the task's terminal event has arrived. */
  ended_(id: string): Promise<void> {
    if (this.ended.has(id)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(id, resolve));
  }

  refuse(reason: string): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }
}

/** Submits one task; resolves with its id once accepted (undefined when refused). */
async function submit(
  service: MainProcess,
  ledger: Ledger,
  kind: Kind,
): Promise<string | undefined> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${service.url}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(kind.body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    ledger.refuse(`no answer: ${(error as Error).name}`);
    return undefined;
  }
  const body = await response.json().catch(() => ({}));
  if (response.status !== 201) {
    ledger.refuse(`${response.status} ${body?.error?.code ?? "?"}`);
    return undefined;
  }
  const id = body.task.id as string;
  ledger.kindOf.set(id, kind);
  ledger.submittedAt.set(id, started);
  if (kind.cancelWithinMs !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * kind.cancelWithinMs!));
    await fetch(`${service.url}/api/tasks/${id}/cancel`, { method: "POST" })
      .then((r) => r.body?.cancel())
      .catch(() => ledger.refuse("cancel: no answer"));
  }
  return id;
}

/**
 * Closed loop for `ms`: 64 clients each submit a task of the mix and wait for
 * it to end, so no backlog builds up; returns tasks finished per second.
 */
async function measureMax(service: MainProcess, ledger: Ledger, ms: number): Promise<number> {
  const started = performance.now();
  let finished = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (performance.now() - started < ms) {
      const id = await submit(service, ledger, pickKind());
      if (id === undefined) continue;
      await ledger.ended_(id);
      finished++;
    }
  }));
  return finished / ((performance.now() - started) / 1000);
}

async function main(args: string[]): Promise<number> {
  const options = parseArgs(args);
  const folder = await Deno.makeTempDir({ prefix: "threadflow-soak-" });
  const dbPath = `${folder}/tasks.db`;
  const serviceArgs = [
    "--store",
    `sqlite:${dbPath}`,
    "--tasks-dir",
    FIXTURE_TASKS,
    "--log-level",
    "error",
    "--drain-ms",
    "5000",
  ];
  if (options.workers !== undefined) serviceArgs.push("--workers", String(options.workers));
  const service = await spawnMain(serviceArgs);
  console.log(`soak: service ${service.url} (pid ${service.pid}), store ${dbPath}`);

  const ledger = new Ledger();
  const socket = new WebSocket(`${service.url.replace("http", "ws")}/ws`);
  const subscribed = Promise.withResolvers<void>();
  const socketClosed = new Promise((resolve) => (socket.onclose = resolve));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "subscribed") subscribed.resolve();
    else if (message.task?.id !== undefined) ledger.onEvent(message.type, message.task.id);
  };
  await new Promise((resolve) => (socket.onopen = resolve));
  socket.send(
    JSON.stringify({
      type: "subscribe",
      ref: "soak",
      filter: { statuses: ["succeeded", "failed", "cancelled"] },
    }),
  );
  await subscribed.promise;

  let rate = options.rate;
  let measured = 0;
  if (rate === undefined) {
    const max = await measureMax(service, ledger, 5_000);
    measured = ledger.kindOf.size;
    rate = Math.max(1, Math.round(max / 2));
    console.log(
      `soak: measured max ${max.toFixed(0)} tasks/s (5 s, 64 clients each waiting for its task); ` +
        `running at ${rate}/s for ${options.minutes} min`,
    );
  } else {
    console.log(`soak: running at ${rate} tasks/s (--rate)`);
  }
  ledger.latencies = [];
  ledger.endedThisMinute = 0;

  const durationMs = options.minutes * 60_000;
  const started = performance.now();
  let submitted = 0;
  let behind = 0;
  let inFlight = 0;
  const pending = new Set<Promise<unknown>>();
  let nextReport = started + 60_000;
  let minute = 0;
  let minuteStarted = started;
  const rssPeak = { value: 0 };
  const report = async () => {
    minute++;
    const seconds = (performance.now() - minuteStarted) / 1000;
    minuteStarted = performance.now();
    const rss = await service.rss();
    rssPeak.value = Math.max(rssPeak.value, rss);
    const figures = await serviceFigures(service.url);
    console.log(
      `minute ${minute}: ${(ledger.endedThisMinute / seconds).toFixed(1)} tasks/s, p99 ${
        percentile(ledger.latencies, 0.99).toFixed(1)
      } ms (p50 ${percentile(ledger.latencies, 0.5).toFixed(1)}), RSS ${
        (rss / 1048576).toFixed(1)
      } MiB (heap ${figures.heap}), workers ${figures.workers}, open timers ${figures.timers}, in flight ${inFlight}`,
    );
    ledger.latencies = [];
    ledger.endedThisMinute = 0;
  };
  while (performance.now() - started < durationMs && !service.dead) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (submitted < due) {
      submitted++;
      if (inFlight >= MAX_IN_FLIGHT) {
        behind++;
        continue;
      }
      inFlight++;
      const request = submit(service, ledger, pickKind()).finally(() => {
        inFlight--;
        pending.delete(request);
      });
      pending.add(request);
    }
    if (performance.now() >= nextReport) {
      await report();
      nextReport += 60_000;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // The last (partial) minute.
  if (!service.dead && ledger.endedThisMinute > 0) await report();
  await Promise.all(pending);
  const accepted = [...ledger.kindOf.keys()];
  // Let the last tasks finish (bounded).
  const drainDeadline = Date.now() + 60_000;
  while (Date.now() < drainDeadline && accepted.some((id) => !ledger.ended.has(id))) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const died = service.dead;
  socket.close();
  await socketClosed;
  const status = await service.stop(30_000);

  // Count from the store, not from what we saw.
  const database = new DatabaseSync(dbPath, { readOnly: true });
  const rows = new Map<string, string>();
  for (const row of database.prepare("SELECT id, status FROM tasks").iterate()) {
    rows.set(String(row.id), String(row.status));
  }
  database.close();
  const byStatus: Record<string, number> = {};
  let lost = 0;
  const unexpected = new Map<string, number>();
  for (const id of accepted) {
    const stored = rows.get(id);
    if (stored === undefined || !["succeeded", "failed", "cancelled"].includes(stored)) {
      lost++;
      continue;
    }
    byStatus[stored] = (byStatus[stored] ?? 0) + 1;
    const kind = ledger.kindOf.get(id)!;
    if (!kind.expect.includes(stored)) {
      const key = `${kind.name} -> ${stored}`;
      unexpected.set(key, (unexpected.get(key) ?? 0) + 1);
    }
  }
  const neverSeen = accepted.filter((id) => !ledger.ended.has(id)).length;
  console.log(
    `totals: ${submitted} scheduled at ${rate}/s + ${measured} while measuring, ${accepted.length} accepted, ${behind} skipped (over ${MAX_IN_FLIGHT} in flight), refused ${
      JSON.stringify(Object.fromEntries(ledger.refused))
    }`,
  );
  console.log(
    `store: ${rows.size} rows; accepted tasks by status ${JSON.stringify(byStatus)}; ` +
      `terminal events missing ${neverSeen}, duplicated ${ledger.duplicates}; peak RSS ${
        (rssPeak.value / 1048576).toFixed(1)
      } MiB; service exit ${status.code}`,
  );
  if (unexpected.size > 0) {
    console.log(`unexpected outcomes: ${JSON.stringify(Object.fromEntries(unexpected))}`);
  }
  console.log(`lost: ${lost}`);
  if (options.keep) console.log(`kept ${dbPath}`);
  else await Deno.remove(folder, { recursive: true });
  return lost > 0 || ledger.duplicates > 0 || died || accepted.length === 0 ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
