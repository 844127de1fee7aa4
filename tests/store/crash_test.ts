/**
 * Crash recovery on SQLite, with real processes: 2,000 tasks are submitted,
 * the process is killed with SIGKILL mid-run, and a restart on the same file
 * must bring every acknowledged task to a terminal state — none missing, none
 * left `running`.
 *
 * Variants: the library (tests/store/_crash_child.ts) on SQLite, and the
 * service (`main.ts --store sqlite:PATH` and `--store postgres://…`, over HTTP).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import postgres from "postgres";
import { storeFromConfig } from "../../server/store_from_config.ts";
import { PG_URL, pgReachable } from "./_postgres.ts";

const ROOT = new URL("../../", import.meta.url);
const CHILD = new URL("./_crash_child.ts", import.meta.url);
const TASKS = 2_000;
/** Kill once this many tasks succeeded: mid-run, with work queued and running. */
const KILL_AFTER_DONE = 300;

/** A child process whose stdout is read line by line. */
class Child {
  readonly process: Deno.ChildProcess;
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];
  readonly #stdout: Promise<void>;
  readonly #stderr: Promise<string>;

  constructor(args: string[]) {
    this.process = new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#stdout = this.#read();
    this.#stderr = new Response(this.process.stderr).text();
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const chunk of this.process.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    }
    if (rest) this.lines.push(rest);
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits until `predicate` holds for the lines so far (or the process ends). */
  async until(predicate: (lines: string[]) => boolean): Promise<boolean> {
    let ended = false;
    this.#stdout.then(() => (ended = true));
    while (!predicate(this.lines)) {
      if (ended) return false;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        this.#stdout.then(() => resolve());
      });
    }
    return true;
  }

  /** Waits for exit; returns the status and stderr. */
  async finish(): Promise<{ status: Deno.CommandStatus; stderr: string }> {
    const status = await this.process.status;
    await this.#stdout;
    return { status, stderr: await this.#stderr };
  }
}

/** Every acknowledged task is in the SQLite file, terminal; returns counts by status. */
function verify(path: string, acknowledged: Set<string>): Record<string, number> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT id, status FROM tasks").all() as {
      id: string;
      status: string;
    }[];
    verifyRows(rows, acknowledged);
    const counts: Record<string, number> = {};
    for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
    return counts;
  } finally {
    db.close();
  }
}

Deno.test("crash (library): SIGKILL mid-run on SQLite loses nothing and strands nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tf_crash_" });
  try {
    const path = join(dir, "threadflow.db");
    const first = new Child(["run", "-A", CHILD.pathname, "submit", path, String(TASKS)]);
    const done = (lines: string[]) => lines.filter((line) => line.startsWith("DONE ")).length;
    const reached = await first.until((lines) => done(lines) >= KILL_AFTER_DONE);
    first.process.kill("SIGKILL");
    const killed = await first.finish();
    assert(reached, `the child ended before ${KILL_AFTER_DONE} tasks succeeded: ${killed.stderr}`);
    assertEquals(killed.status.signal, "SIGKILL");
    const acknowledged = new Set(
      first.lines.filter((line) => line.startsWith("ACK ")).map((line) => line.slice(4)),
    );
    assert(acknowledged.size > 0);
    // Mid-run: not everything had finished when the process died.
    assert(done(first.lines) < acknowledged.size, "the kill came after every task finished");

    const second = new Child(["run", "-A", CHILD.pathname, "recover", path]);
    const recovered = await second.until((lines) => lines.some((l) => l.startsWith("RECOVERED ")));
    const ended = await second.finish();
    assert(recovered, `recovery did not finish: ${ended.stderr}`);
    assertEquals(ended.status.code, 0, ended.stderr);
    const counts = verify(path, acknowledged);
    assert((counts.succeeded ?? 0) >= done(first.lines));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every acknowledged task is among `rows`, terminal; nothing is unfinished. */
function verifyRows(rows: { id: string; status: string }[], acknowledged: Set<string>) {
  const status = new Map(rows.map((row) => [row.id, row.status]));
  const missing = [...acknowledged].filter((id) => !status.has(id));
  assertEquals(missing, [], `${missing.length} acknowledged tasks are missing`);
  const unfinished = rows.filter((row) =>
    !["succeeded", "failed", "cancelled"].includes(row.status)
  );
  assertEquals(unfinished, [], "no task may stay unfinished");
}

/** A store the service runs on, and how to read its rows back afterwards. */
interface ServiceStore {
  spec: string;
  rows(): Promise<{ id: string; status: string }[]>;
  cleanup(): Promise<void>;
}

/**
 * Starts `main.ts` on the store, submits 2,000 tasks over HTTP (batches and
 * singles), SIGKILLs it once some have succeeded, restarts it on the same
 * store, waits until nothing is unfinished, stops it with SIGTERM and checks
 * every acknowledged task.
 */
async function crashService(store: ServiceStore): Promise<void> {
  const start = () =>
    new Child([
      "run",
      "-A",
      "main.ts",
      "--port",
      "0",
      "--hostname",
      "127.0.0.1",
      "--workers",
      "2",
      "--store",
      store.spec,
    ]);
  const listening = async (child: Child) => {
    const pattern = /ThreadFlow listening on (http:\/\/\S+)/;
    const ok = await child.until((lines) => lines.some((line) => pattern.test(line)));
    if (!ok) throw new Error(`main.ts did not start: ${(await child.finish()).stderr}`);
    return pattern.exec(child.lines.find((line) => pattern.test(line))!)![1];
  };
  try {
    const first = start();
    const base = await listening(first);
    const acknowledged = new Set<string>();
    const input = (i: number) => ({
      type: i % 3 === 0 ? "fib" : "sleep",
      payload: i % 3 === 0 ? { n: 18 } : { ms: 3 },
      priority: 1 + (i % 10),
      maxAttempts: i % 2 === 0 ? 1 : 3,
      idempotencyKey: `crash-main-${i}`,
    });
    const post = async (url: string, body: unknown) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) {
        // The server's log says why (a 500 hides its cause from the client).
        const logged = first.lines.filter((line) => /error/i.test(line)).slice(-20).join("\n");
        throw new Error(`${response.status} ${JSON.stringify(answer)}\n${logged}`);
      }
      return answer;
    };
    for (let i = 0; i < TASKS / 2; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) => input(i + k));
      const { tasks } = await post(`${base}/api/tasks/batch`, { tasks: batch });
      for (const task of tasks) acknowledged.add(task.id);
    }
    for (let i = TASKS / 2; i < TASKS; i += 20) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, k) => post(`${base}/api/tasks`, input(i + k))),
      );
      for (const { task } of answers) acknowledged.add(task.id);
    }
    assertEquals(acknowledged.size, TASKS);
    let succeeded = 0;
    while (succeeded < KILL_AFTER_DONE) {
      const { stats } = await (await fetch(`${base}/api/stats`)).json();
      succeeded = stats.counts.succeeded;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.process.kill("SIGKILL");
    assertEquals((await first.finish()).status.signal, "SIGKILL");
    assert(succeeded < TASKS, "the kill came after every task finished");

    const second = start();
    const again = await listening(second);
    // A shared store's dead node keeps its leases until they expire (15 s).
    const giveUpAt = Date.now() + 120_000;
    for (;;) {
      const { stats: { counts } } = await (await fetch(`${again}/api/stats`)).json();
      if (counts.queued + counts.running + counts.scheduled === 0) break;
      if (Date.now() > giveUpAt) {
        throw new Error(`Tasks did not finish: ${JSON.stringify(counts)}.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    second.process.kill("SIGTERM");
    const stopped = await second.finish();
    assertEquals(stopped.status.code, 0, stopped.stderr);
    const rows = await store.rows();
    verifyRows(rows, acknowledged);
    assertEquals(rows.length, TASKS);
  } finally {
    await store.cleanup();
  }
}

function serviceTakes(spec: string): string | undefined {
  try {
    storeFromConfig(spec);
    return undefined;
  } catch {
    return `the service does not take --store ${spec} yet ` +
      "(server/store_from_config.ts should call openStore from engine/store/mod.ts)";
  }
}

Deno.test({
  name: "crash (service): main.ts on SQLite, SIGKILL mid-run, restart finishes every task",
  ignore: serviceTakes("sqlite:/tmp/threadflow-probe.db") !== undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tf_crash_main_" });
    const path = join(dir, "threadflow.db");
    await crashService({
      spec: `sqlite:${path}`,
      rows: () => {
        const db = new DatabaseSync(path, { readOnly: true });
        try {
          const rows = db.prepare("SELECT id, status FROM tasks").all();
          return Promise.resolve(rows as { id: string; status: string }[]);
        } finally {
          db.close();
        }
      },
      cleanup: () => Deno.remove(dir, { recursive: true }),
    });
  },
});

Deno.test({
  name: "crash (service): main.ts on PostgreSQL, SIGKILL mid-run, restart finishes every task",
  ignore: !(await pgReachable()) || serviceTakes(PG_URL) !== undefined,
  fn: async () => {
    const schema = `tf_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const sql = postgres(PG_URL, { onnotice: () => {}, max: 1 });
    await crashService({
      spec: `${PG_URL}?schema=${schema}`,
      rows: async () =>
        (await sql.unsafe(`SELECT id, status FROM ${schema}.tasks`)) as unknown as {
          id: string;
          status: string;
        }[],
      cleanup: async () => {
        await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await sql.end({ timeout: 5 });
      },
    });
  },
});
