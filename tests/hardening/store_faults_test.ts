/**
 * Store faults: PostgreSQL restarted under load (opt-in, it disturbs every
 * other user of the shared cluster), and a SQLite file on a location that
 * cannot be written at start.
 */

import { ok as assert } from "node:assert/strict";
import { send, spawnMain, startPermissions, until } from "./_service.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const PG_RESTART = Deno.env.get("THREADFLOW_PG_RESTART") === "1";
/** Set to true once the node survives a PostgreSQL restart (see the bug note on the test). */
const NODE_SURVIVES_PG_RESTART = true;

/** Runs main.ts expecting it to refuse to start; returns its exit code, output and duration. */
async function startExpectingFailure(
  args: string[],
): Promise<{ code: number; output: string; ms: number }> {
  const started = Date.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...startPermissions(), MAIN, "--port", "0", "--hostname", "127.0.0.1", ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  // Bounded: a service that starts anyway (or loops) is killed and reported.
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const output = await child.output();
  clearTimeout(killer);
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  return { code: output.code, output: text, ms: Date.now() - started };
}

function assertRefused(result: { code: number; output: string; ms: number }, path: string) {
  assert(result.code !== 0 && result.code !== 137, `exit ${result.code}:\n${result.output}`);
  assert(!result.output.includes("listening on"), `It started anyway:\n${result.output}`);
  assert(result.output.includes(path), `The error does not name ${path}:\n${result.output}`);
  const attempts = result.output.split("\n").filter((line) => /cannot start/i.test(line));
  assert(attempts.length === 1, `Expected one clear error line:\n${result.output}`);
  assert(!/Uncaught|panicked/.test(result.output), `A crash, not an error:\n${result.output}`);
}

Deno.test("store faults: SQLite on a full device at start: a clear error, exit code, no retry loop", async () => {
  const result = await startExpectingFailure(["--store", "sqlite:/dev/full"]);
  assertRefused(result, "/dev/full");
  assert(/full/i.test(result.output), result.output);
});

Deno.test("store faults: SQLite on a location that cannot be written at start: a clear error", async () => {
  // As root, file modes do not stop writes; procfs refuses new files for everyone.
  let path = "/proc/threadflow-hardening.db";
  let folder: string | undefined;
  if (Deno.uid() !== 0) {
    folder = await Deno.makeTempDir({ prefix: "threadflow-ro-" });
    await Deno.chmod(folder, 0o555);
    path = `${folder}/tasks.db`;
  }
  try {
    const result = await startExpectingFailure(["--store", `sqlite:${path}`]);
    assertRefused(result, path);
  } finally {
    if (folder !== undefined) {
      await Deno.chmod(folder, 0o755);
      await Deno.remove(folder, { recursive: true });
    }
  }
});

Deno.test("store faults: a read-only SQLite file at start: a clear error", {
  // Root can write a file whatever its mode.
  ignore: Deno.uid() === 0,
}, async () => {
  const folder = await Deno.makeTempDir({ prefix: "threadflow-rofile-" });
  const path = `${folder}/tasks.db`;
  try {
    // Create a valid database first, then take write permission away.
    const first = await spawnMain(["--store", `sqlite:${path}`, "--workers", "1"]);
    await first.stop();
    await Deno.chmod(path, 0o444);
    const result = await startExpectingFailure(["--store", `sqlite:${path}`]);
    assertRefused(result, path);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

async function psql(sql: string): Promise<string> {
  const output = await new Deno.Command("psql", {
    args: ["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-tAc", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).trim();
}

/** Refuses to restart PostgreSQL under someone else's connections (other tests, other nodes). */
async function assertAlone(ours: string): Promise<void> {
  const others = () =>
    psql(
      "SELECT coalesce(string_agg(DISTINCT application_name, ', '), '') FROM pg_stat_activity " +
        `WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ` +
        `AND application_name NOT IN ('${ours}', 'psql')`,
    );
  // Wait a little for other users to finish; never restart the cluster under them.
  await until(async () => (await others()) === "", 60_000, 500);
  const still = await others();
  assert(still === "", `Other clients use PostgreSQL (${still}); not restarting it under them.`);
}

async function restartPostgres(): Promise<void> {
  const version = [...Deno.readDirSync("/etc/postgresql")].map((entry) => entry.name)[0];
  const output = await new Deno.Command("pg_ctlcluster", {
    args: ["--skip-systemctl-redirect", version, "main", "restart"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
}

Deno.test({
  name: "store faults: PostgreSQL restarted under load: /ready 503, recovers alone, loses nothing",
  // It restarts the shared PostgreSQL cluster under every other test: run it alone, with
  // THREADFLOW_PG_RESTART=1 (CI does, in a serial step).
  // postgres.js once let a write to a socket closed by the restart end the node (upstream
  // porsager/postgres#1154); engine/store/postgres_store.ts guards against it now.
  ignore: !PG_RESTART || !NODE_SURVIVES_PG_RESTART,
  fn: async () => {
    const schema = `tf_hardening_${Deno.pid}`;
    const service = await spawnMain([
      "--store",
      `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`,
      "--workers",
      "2",
      "--log-level",
      "warn",
    ]);
    const accepted: string[] = [];
    const refused = new Map<string, number>();
    const readiness: { at: number; status: number }[] = [];
    let stop = false;
    const load = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          const answer = await send(`${service.url}/api/tasks`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ type: "sleep", payload: { ms: 5 } }),
            signal: AbortSignal.timeout(10_000),
          });
          if (answer.status === 201) {
            accepted.push((answer.json as { task: { id: string } }).task.id);
          } else {
            const code = (answer.json as { error?: { code?: string } })?.error?.code ?? "?";
            const key = `${answer.status} ${code}`;
            refused.set(key, (refused.get(key) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        } catch {
          refused.set("no answer", (refused.get("no answer") ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    });
    const probe = (async () => {
      while (!stop) {
        const answer = await send(`${service.url}/ready`, { signal: AbortSignal.timeout(5_000) })
          .catch(() => ({ status: 0 }));
        readiness.push({ at: Date.now(), status: answer.status });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    let restartedAt = 0;
    const step = (text: string) => console.log(`pg restart: ${text}`);
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await assertAlone(`threadflow ${schema}`);
      const before = accepted.length;
      step(`${before} tasks accepted; restarting PostgreSQL`);
      restartedAt = Date.now();
      service.exited.then(() =>
        step(`node exited ${Date.now() - restartedAt} ms after the restart`)
      );
      await restartPostgres();
      const restartMs = Date.now() - restartedAt;
      step(`restarted in ${restartMs} ms`);
      // Recovers by itself: ready again without anyone touching the node.
      const recovered = await until(
        async () => {
          if (service.dead) return true; // Stop waiting; reported below.
          const ready = await send(`${service.url}/ready`, { signal: AbortSignal.timeout(5_000) })
            .catch(() => ({ status: 0 }));
          return ready.status === 200 && accepted.length > before + 20;
        },
        60_000,
        100,
      ) && !service.dead;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      stop = true;
      await Promise.all([...load, probe]);
      const outage = readiness.filter((r) => r.at >= restartedAt);
      step(
        `recovered: ${recovered}, node alive: ${!service.dead}; /ready after the restart: ${
          JSON.stringify(Object.fromEntries(
            Map.groupBy(outage, (r) => r.status)
              .entries().map(([status, list]) => [status, list.length]),
          ))
        }; accepted ${accepted.length}; refused ${JSON.stringify(Object.fromEntries(refused))}`,
      );
      if (service.dead) {
        const { code } = await service.exited;
        throw new Error(
          `The node died when PostgreSQL restarted (exit ${code}):\n${
            service.lines.slice(-12).join("\n")
          }`,
        );
      }
      const lastReady = readiness.slice(-3).map((r) => r.status).join(",");
      assert(
        recovered,
        `The node did not take tasks and report ready within 60 s of the restart: accepted ` +
          `${before} before, ${accepted.length} in all; refused ${
            JSON.stringify(Object.fromEntries(refused))
          }; last /ready ${lastReady}; log:\n${service.lines.slice(-15).join("\n")}`,
      );

      const notReady = readiness.filter((r) => r.status === 503 && r.at >= restartedAt);
      const unfinished = new Set(accepted);
      const failedTasks: string[] = [];
      let noAnswer = 0;
      const allEnded = await until(
        async () => {
          const batch = [...unfinished].slice(0, 50);
          await Promise.all(batch.map(async (id) => {
            const answer = await send(`${service.url}/api/tasks/${id}`, {
              signal: AbortSignal.timeout(5_000),
            }).catch(() => undefined);
            if (answer === undefined) return void noAnswer++;
            const status = (answer.json as { task?: { status: string } }).task?.status;
            if (status === "succeeded") unfinished.delete(id);
            else if (status === "failed" || status === "cancelled" || answer.status === 404) {
              unfinished.delete(id);
              failedTasks.push(`${id}: ${status ?? answer.status}`);
            }
          }));
          return unfinished.size === 0 || service.dead;
        },
        60_000,
        200,
      );
      step(
        `after recovery: unfinished ${unfinished.size}, ended badly ${failedTasks.length}, ` +
          `unanswered reads ${noAnswer}`,
      );
      assert(failedTasks.length === 0, `Tasks ended badly: ${failedTasks.slice(0, 5).join("; ")}`);
      const stored = Number(
        await psql(`SELECT count(*) FROM ${schema}.tasks WHERE status = 'succeeded'`),
      );
      console.log(
        `pg restart (${restartMs} ms): accepted ${accepted.length}, refused ${
          JSON.stringify(Object.fromEntries(refused))
        }, /ready 503 for ${notReady.length} probes, unfinished ${unfinished.size}, ` +
          `succeeded in the store ${stored}`,
      );
      assert(allEnded, `${unfinished.size} accepted tasks did not succeed within 60 s.`);
      assert(stored >= accepted.length, `lost: ${accepted.length - stored}`);
      assert(notReady.length > 0, "/ready never answered 503 while PostgreSQL was down.");
      assert(!service.dead, "The node died.");
    } finally {
      stop = true;
      await Promise.all([...load, probe]);
      await service.stop();
      await psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    }
  },
});
