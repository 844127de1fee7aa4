/**
 * Faults under load, against a `main.ts` subprocess with the fixture task
 * modules: handlers that throw, hang past their timeout, spin, close their
 * worker or call Deno.exit, mixed with normal tasks submitted as fast as the
 * service takes them. Every task must end exactly once with the right
 * status, the pool must keep its size, and /ready must stay 200.
 */

import { ok as assert } from "node:assert/strict";
import { Random, seedFromEnv } from "./_random.ts";
import { FIXTURE_TASKS, postJson, send, spawnMain, until } from "./_service.ts";

const SEED = seedFromEnv();
const WORKERS = 2;
const TIMEOUT_MS = 150;

/** How many of each kind one run submits. */
const MIX: Record<string, number> = {
  ok: 400,
  throws: 40,
  hangs: 8,
  spins: 8,
  closes: 10,
  exits: 10,
};

interface Expected {
  status: "succeeded" | "failed";
  check: (task: TaskJson) => boolean;
}

interface TaskJson {
  id: string;
  type: string;
  status: string;
  payload: unknown;
  result: unknown;
  attempt?: number;
  error: { name: string; message: string } | null;
}

const EXPECTED: Record<string, Expected> = {
  ok: {
    status: "succeeded",
    check: (t) => JSON.stringify(t.result) === JSON.stringify(t.payload),
  },
  throws: { status: "failed", check: (t) => t.error?.message.includes("throws:") === true },
  hangs: { status: "failed", check: (t) => /timeout|timed out/i.test(errorText(t)) },
  spins: { status: "failed", check: (t) => /timeout|timed out/i.test(errorText(t)) },
  closes: { status: "failed", check: (t) => t.error !== null },
  exits: { status: "failed", check: (t) => t.error !== null },
};

function errorText(task: TaskJson): string {
  return `${task.error?.name} ${task.error?.message}`;
}

Deno.test(`faults: throwing, hanging, spinning and worker-killing handlers under load (seed ${SEED})`, async () => {
  const random = new Random(SEED);
  const service = await spawnMain([
    "--workers",
    String(WORKERS),
    "--tasks-dir",
    FIXTURE_TASKS,
    "--log-level",
    "error",
    "--drain-ms",
    "1000",
  ]);
  const socket = new WebSocket(`${service.url.replace("http", "ws")}/ws`);
  const terminal = new Map<string, string[]>();
  const subscribed = Promise.withResolvers<void>();
  const socketClosed = new Promise((resolve) => (socket.onclose = resolve));
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "subscribed") subscribed.resolve();
    if (["task.succeeded", "task.failed", "task.cancelled"].includes(message.type)) {
      const list = terminal.get(message.task.id) ?? [];
      list.push(message.type);
      terminal.set(message.task.id, list);
    }
  };
  let stopReadyProbe = false;
  const notReady: string[] = [];
  let readyProbes = 0;
  const readyProbe = (async () => {
    while (!stopReadyProbe) {
      const answer = await send(`${service.url}/ready`).catch((error) => ({
        status: 0,
        text: String(error),
      }));
      readyProbes++;
      if (answer.status !== 200) notReady.push(`${answer.status} ${answer.text}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  try {
    await new Promise((resolve) => (socket.onopen = resolve));
    socket.send(JSON.stringify({ type: "subscribe", ref: "all" }));
    await subscribed.promise;

    const kinds: string[] = [];
    for (const [kind, count] of Object.entries(MIX)) {
      for (let i = 0; i < count; i++) kinds.push(kind);
    }
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
    }
    const kindOf = new Map<string, string>();
    for (let start = 0; start < kinds.length; start += 50) {
      const chunk = kinds.slice(start, start + 50);
      const answer = await postJson(`${service.url}/api/tasks/batch`, {
        tasks: chunk.map((type, i) => ({
          type,
          payload: { n: start + i },
          timeoutMs: type === "hangs" || type === "spins" ? TIMEOUT_MS : 20_000,
          maxAttempts: 1,
        })),
      });
      assert(answer.status === 201, `batch: ${answer.status} ${answer.text}`);
      const tasks = (answer.json as { tasks: { task: TaskJson }[] | TaskJson[] }).tasks;
      for (const [i, entry] of tasks.entries()) {
        const task = "task" in entry ? entry.task : entry;
        kindOf.set(task.id, chunk[i]);
      }
    }
    assert(kindOf.size === kinds.length, `Accepted ${kindOf.size} of ${kinds.length} tasks.`);

    const allEnded = await until(() => kindOf.size === terminal.size, 90_000, 100);
    assert(allEnded, `Only ${terminal.size} of ${kindOf.size} tasks ended within 90 s.`);
    // Let any duplicate terminal event arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const problems: string[] = [];
    for (const [id, kind] of kindOf) {
      const events = terminal.get(id) ?? [];
      if (events.length !== 1) problems.push(`${kind} ${id}: terminal events ${events.join(",")}`);
    }
    const finals = await Promise.all(
      [...kindOf.keys()].map((id) => send(`${service.url}/api/tasks/${id}`)),
    );
    for (const answer of finals) {
      const task = (answer.json as { task: TaskJson }).task;
      const kind = kindOf.get(task.id)!;
      const expected = EXPECTED[kind];
      if (task.status !== expected.status || !expected.check(task)) {
        problems.push(`${kind} ${task.id}: ${task.status} ${JSON.stringify(task.error)}`);
      }
    }
    assert(problems.length === 0, `seed ${SEED}:\n${problems.slice(0, 20).join("\n")}`);

    const workers = (await send(`${service.url}/api/workers`)).json as {
      workers: { state: string; isolation?: string }[];
    };
    // A spinning thread found stuck moves `spins` to worker processes, whose slots join the
    // thread slots: the thread slots stay WORKERS.
    const threads = workers.workers.filter((worker) => worker.isolation !== "process");
    assert(threads.length === WORKERS, `Thread slots ${threads.length}.`);
    assert(
      workers.workers.length === WORKERS || workers.workers.length === 2 * WORKERS,
      `Pool size ${workers.workers.length}.`,
    );
    const stats = (await send(`${service.url}/api/stats`)).json as {
      stats: { workers: { total: number; restarts: number }; counts: Record<string, number> };
    };
    const crashes = MIX.hangs + MIX.spins + MIX.closes + MIX.exits;
    assert(
      stats.stats.workers.total === workers.workers.length,
      `workers.total ${stats.stats.workers.total}.`,
    );
    assert(
      stats.stats.workers.restarts >= crashes,
      `restarts ${stats.stats.workers.restarts}, expected at least ${crashes}.`,
    );
    const after = await postJson(`${service.url}/api/tasks`, { type: "ok", payload: "after" });
    const id = (after.json as { task: TaskJson }).task.id;
    const done = await send(`${service.url}/api/tasks/${id}/wait?timeoutMs=20000`);
    assert(
      (done.json as { task: TaskJson }).task.status === "succeeded",
      "A task after the faults.",
    );
    assert(!service.dead, "The service died.");
    console.log(
      `faults seed ${SEED}: ${kindOf.size} tasks ${JSON.stringify(MIX)}; counts ${
        JSON.stringify(stats.stats.counts)
      }; restarts ${stats.stats.workers.restarts}; /ready probes ${readyProbes}, not ready ${notReady.length}`,
    );
  } finally {
    stopReadyProbe = true;
    await readyProbe;
    socket.close();
    await socketClosed;
    await service.stop();
  }
  assert(notReady.length === 0, `/ready was not 200: ${notReady.slice(0, 5).join("; ")}`);
});

Deno.test({
  name: "faults: a worker crash fails only the task that crashed it, not the jobs queued behind it",
  // Found by this suite (every job sent to a crashed worker failed with the crash's error) and
  // fixed in the engine by 90a8c04; kept as its regression test.
  fn: async () => {
    const service = await spawnMain(["--workers", "1", "--tasks-dir", FIXTURE_TASKS]);
    try {
      for (const crasher of ["exits", "closes"]) {
        const answer = await postJson(`${service.url}/api/tasks/batch`, {
          tasks: [{ type: crasher }, { type: "throws" }, { type: "throws" }, { type: "ok" }],
        });
        const tasks = (answer.json as { tasks: ({ task: TaskJson } | TaskJson)[] }).tasks;
        const ids = tasks.map((entry) => ("task" in entry ? entry.task : entry).id);
        const ended: TaskJson[] = [];
        for (const id of ids) {
          const done = await send(`${service.url}/api/tasks/${id}/wait?timeoutMs=20000`);
          ended.push((done.json as { task: TaskJson }).task);
        }
        for (const task of ended.slice(1, 3)) {
          assert(
            task.error?.message.includes("throws:"),
            `${crasher}: ${JSON.stringify(task.error)}`,
          );
        }
        assert(ended[3].status === "succeeded", `${crasher}: ok ${ended[3].status}`);
      }
    } finally {
      await service.stop();
    }
  },
});

Deno.test(
  "faults: in a worker process, a heap bomb and a busy loop fail their tasks; the service lives",
  async () => {
    // The service runs with deno task start's permissions (no -A): worker processes need
    // --allow-run=deno, their figures come from ps.
    const service = await spawnMain(["--workers", "1", "--tasks-dir", FIXTURE_TASKS]);
    try {
      const oom = await postJson(`${service.url}/api/tasks`, { type: "oom_process" });
      const spin = await postJson(`${service.url}/api/tasks`, {
        type: "spins_process",
        timeoutMs: 300,
      });
      const ok = await postJson(`${service.url}/api/tasks`, { type: "ok_process", payload: 7 });
      const wait = async (answer: { json: unknown }) => {
        const id = (answer.json as { task: TaskJson }).task.id;
        const done = await send(`${service.url}/api/tasks/${id}/wait?timeoutMs=60000`);
        return (done.json as { task: TaskJson }).task;
      };
      const oomDone = await wait(oom);
      assert(oomDone.status === "failed", JSON.stringify(oomDone));
      assert(oomDone.error?.name === "OutOfMemoryError", JSON.stringify(oomDone.error));
      const spinDone = await wait(spin);
      assert(spinDone.error?.name === "TimeoutError", JSON.stringify(spinDone.error));
      assert((await wait(ok)).result === 7);
      assert(!service.dead, "The service died with its worker process.");
      const ready = await send(`${service.url}/ready`);
      assert(ready.status === 200);
      const workers = await send(`${service.url}/api/workers`);
      const listed = (workers.json as { workers: Array<{ isolation: string; pid: number }> })
        .workers;
      assert(listed.some((worker) => worker.isolation === "process" && worker.pid > 0));
    } finally {
      await service.stop();
    }
  },
);

Deno.test({
  name: "faults: a handler that exhausts its worker's heap fails its task, the process lives",
  // Known platform limit (CONTRACT.md, "Contract additions"): Deno 2.9.6 has no per-worker heap
  // limit, and a worker thread that exhausts V8's heap aborts the whole process ("Fatal
  // JavaScript out of memory", SIGABRT/SIGTRAP). Verified by hand, see docs/reliability.md.
  // In a worker process it holds (the test above). Kept so it runs as soon as Deno gains
  // per-worker resource limits for threads.
  ignore: true,
  fn: async () => {
    const service = await spawnMain(["--workers", "1", "--tasks-dir", FIXTURE_TASKS]);
    try {
      const answer = await postJson(`${service.url}/api/tasks`, { type: "oom", timeoutMs: 60_000 });
      const id = (answer.json as { task: TaskJson }).task.id;
      const done = await send(`${service.url}/api/tasks/${id}/wait?timeoutMs=60000`);
      assert((done.json as { task: TaskJson }).task.status === "failed");
      assert(!service.dead, "The process died with its worker.");
    } finally {
      await service.stop();
    }
  },
});
