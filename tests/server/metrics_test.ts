/**
 * `/metrics` as a Prometheus user reads it: a bounded `method` label, task
 * counters by type and status, `process_*` figures, and a document that
 * `promtool check metrics` passes.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { serviceMissing } from "../_services.ts";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";
import { PG_URL, pgMissing, withSchema } from "../store/_postgres.ts";
import { startService, type TestService } from "./_service.ts";

const FIXTURE_TASKS = new URL("../fixtures/tasks/", import.meta.url).pathname;

async function promtoolMissing(): Promise<string | undefined> {
  let reason: string | undefined;
  try {
    const output = await new Deno.Command("promtool", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    if (!output.success) reason = `promtool --version exited ${output.code}`;
  } catch {
    reason = "promtool is not installed (Debian: apt-get install prometheus)";
  }
  return serviceMissing("promtool", reason);
}

const promtool = await promtoolMissing();

async function scrape(svc: TestService): Promise<string> {
  const response = await fetch(`${svc.url}/metrics`);
  assertEquals(response.status, 200);
  return await response.text();
}

/** The value of the one sample line that starts with `series` (name and labels). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((row) => row.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("/metrics: made-up methods are counted as OTHER, not one series each", async () => {
  const svc = await startService();
  try {
    for (const method of ["FOO", "BAR", "X-Y"]) {
      await (await fetch(`${svc.url}/api/tasks`, { method })).body?.cancel();
    }
    const text = await scrape(svc);
    assertEquals(
      sample(text, 'threadflow_http_requests_total{method="OTHER",route="unmatched",status="405"}'),
      3,
    );
    assert(!/method="(FOO|BAR|X-Y)"/.test(text));
  } finally {
    await svc.close();
  }
});

Deno.test("/metrics: tasks submitted by type and finished by type and status, as counters", async () => {
  const svc = await startService({ engine: { tasksDir: FIXTURE_TASKS } });
  try {
    const before = await scrape(svc);
    // Every known type's series exist from the start, so rate() sees their first tasks.
    assertEquals(sample(before, 'threadflow_tasks_submitted_total{type="noop"}'), 0);
    assertEquals(
      sample(before, 'threadflow_tasks_finished_total{type="throws",status="failed"}'),
      0,
    );
    const noops = await Promise.all([1, 2].map(() => svc.engine.submit({ type: "noop" })));
    const failing = await svc.engine.submit({ type: "throws" });
    // A delayed task is scheduled, then queued when due: still one submit.
    const delayed = await svc.engine.submit({ type: "noop", delayMs: 20 });
    const cancelled = await svc.engine.submit({ type: "noop", delayMs: 60_000 });
    await svc.engine.cancel(cancelled.id);
    for (const task of [...noops, failing, delayed]) await svc.engine.wait(task.id);

    const text = await scrape(svc);
    assertEquals(sample(text, 'threadflow_tasks_submitted_total{type="noop"}'), 4);
    assertEquals(sample(text, 'threadflow_tasks_submitted_total{type="throws"}'), 1);
    assertEquals(
      sample(text, 'threadflow_tasks_finished_total{type="noop",status="succeeded"}'),
      3,
    );
    assertEquals(
      sample(text, 'threadflow_tasks_finished_total{type="noop",status="cancelled"}'),
      1,
    );
    assertEquals(
      sample(text, 'threadflow_tasks_finished_total{type="throws",status="failed"}'),
      1,
    );
    assert(text.includes("# TYPE threadflow_tasks_submitted_total counter"));
    assert(text.includes("# TYPE threadflow_tasks_finished_total counter"));
  } finally {
    await svc.close();
  }
});

Deno.test("/metrics: the standard process_* figures", async () => {
  const svc = await startService();
  try {
    const text = await scrape(svc);
    const start = sample(text, "process_start_time_seconds")!;
    assert(start > 1.6e9 && start <= Date.now() / 1000, String(start));
    assert(sample(text, "process_resident_memory_bytes")! > 1_000_000);
    assert(sample(text, "process_cpu_seconds_total")! > 0);
    // The tests run with -A, so /proc may be read.
    if (Deno.build.os === "linux") {
      assert(sample(text, "process_open_fds")! > 0);
      assert(sample(text, "process_max_fds")! > 0);
    }
    for (const name of ["process_start_time_seconds", "process_resident_memory_bytes"]) {
      assert(text.includes(`# TYPE ${name} gauge`), name);
    }
    assert(text.includes("# TYPE process_cpu_seconds_total counter"));
  } finally {
    await svc.close();
  }
});

Deno.test({
  name: "/metrics passes promtool check metrics",
  ignore: promtool !== undefined,
  async fn() {
    const svc = await startService({ engine: { tasksDir: FIXTURE_TASKS } });
    try {
      const tasks = await Promise.all(
        ["noop", "throws", "fib"].map((type) => svc.engine.submit({ type, payload: { n: 5 } })),
      );
      for (const task of tasks) await svc.engine.wait(task.id);
      await (await fetch(`${svc.url}/api/tasks`, { method: "FOO" })).body?.cancel();
      const child = new Deno.Command("promtool", {
        args: ["check", "metrics"],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(await scrape(svc)));
      await writer.close();
      const output = await child.output();
      const problems = new TextDecoder().decode(output.stdout) +
        new TextDecoder().decode(output.stderr);
      assertEquals(problems.trim(), "");
      assertEquals(output.code, 0);
    } finally {
      await svc.close();
    }
  },
});

Deno.test("/metrics: schedule ticks fired by this node, by schedule", async () => {
  const svc = await startService();
  try {
    let fired = 0;
    svc.engine.on((event) => {
      if (event.type === "schedule.fired") fired++;
    });
    await svc.engine.schedules.create({ name: "m", cron: "@every 1s", task: { type: "noop" } });
    while (fired < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    await svc.engine.schedules.pause("m");
    const text = await scrape(svc);
    // A fire under way while pausing may land after the scrape: between 2 and the events seen.
    const counted = sample(text, 'threadflow_schedule_ticks_total{schedule="m",outcome="fired"}');
    assert(counted !== undefined && counted >= 2 && counted <= fired, `${counted} of ${fired}`);
    assertEquals(
      sample(text, 'threadflow_schedule_ticks_total{schedule="m",outcome="skipped"}'),
      0,
    );
  } finally {
    await svc.close();
  }
});

const pg = await pgMissing();

Deno.test({
  name: "/metrics on a PostgreSQL cluster: each node counts only its own tasks",
  ignore: pg !== undefined,
  fn: () =>
    withSchema(async (schema) => {
      const nodes: TestService[] = [];
      try {
        for (const nodeId of ["node-a", "node-b"]) {
          nodes.push(
            await startService({
              engine: { nodeId, store: new PostgresStore(PG_URL, { schema, maxConnections: 4 }) },
            }),
          );
        }
        const [a, b] = nodes;
        const submitted = [
          ...await a.engine.submitBatch(Array.from({ length: 3 }, () => ({ type: "noop" }))),
          ...await b.engine.submitBatch(Array.from({ length: 2 }, () => ({ type: "noop" }))),
        ];
        for (const task of submitted) await a.engine.wait(task.id);
        // Both nodes heard all five ends: every relayed event has arrived once a then b waited.
        for (const task of submitted) await b.engine.wait(task.id);
        const [textA, textB] = [await scrape(a), await scrape(b)];
        const submittedTotal = 'threadflow_tasks_submitted_total{type="noop"}';
        assertEquals([sample(textA, submittedTotal), sample(textB, submittedTotal)], [3, 2]);
        const finished = 'threadflow_tasks_finished_total{type="noop",status="succeeded"}';
        assertEquals((sample(textA, finished) ?? 0) + (sample(textB, finished) ?? 0), 5);
      } finally {
        for (const node of nodes) await node.close();
      }
    }),
});
