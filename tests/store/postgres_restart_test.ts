/**
 * A PostgreSQL restart under a store in use, on a private throwaway server
 * (initdb in a temporary folder, its own port), so the shared server on 5432
 * is never disturbed: the store turns unhealthy and back, fenced writes made
 * while the server is down are retried and land, and the listening
 * connection comes back and wakes its subscribers.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { PostgresStore } from "../../engine/store/postgres/postgres_store.ts";
import type { SharedMessage } from "../../engine/store/shared_store.ts";
import { changed, makeTask } from "./conformance.ts";

/** The newest installed PostgreSQL's bin folder, or `undefined`. */
function findBinaries(): string | undefined {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((entry) => entry.name)
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = `/usr/lib/postgresql/${version}/bin`;
      try {
        Deno.statSync(`${bin}/initdb`);
        return bin;
      } catch {
        // not this one
      }
    }
  } catch {
    // no PostgreSQL installed
  }
  return undefined;
}

const BIN = findBinaries();
/** As root, the server must run as the `postgres` user. */
const AS_POSTGRES = Deno.uid() === 0;

async function run(command: string): Promise<void> {
  const args = AS_POSTGRES ? ["postgres", "-s", "/bin/sh", "-c", command] : ["-c", command];
  const output = await new Deno.Command(AS_POSTGRES ? "su" : "/bin/sh", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

interface PrivateServer {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function startServer(): Promise<PrivateServer> {
  const dir = await Deno.makeTempDir({ prefix: "tf_pg_restart_" });
  if (AS_POSTGRES) {
    const id = await new Deno.Command("id", { args: ["-u", "postgres"], stdout: "piped" }).output();
    await Deno.chown(dir, Number(new TextDecoder().decode(id.stdout).trim()), null);
  }
  const port = freePort();
  const data = `${dir}/data`;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`;
  const ctl = (action: string) =>
    run(`${BIN}/pg_ctl -D ${data} -o '${options}' -l ${dir}/log -w -m fast ${action}`);
  await run(`${BIN}/initdb -D ${data} -A trust -U postgres`);
  await ctl("start");
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => ctl("restart"),
    stop: async () => {
      await ctl("stop").catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name:
    "postgres store: a server restart under load: unhealthy, back, writes retried, listening again",
  ignore: BIN === undefined, // needs PostgreSQL's server binaries (initdb, pg_ctl)
  fn: async () => {
    const server = await startServer();
    const writer = new PostgresStore(server.url, { schema: "tf", connectTimeoutSeconds: 2 });
    const listener = new PostgresStore(server.url, { schema: "tf", connectTimeoutSeconds: 2 });
    try {
      await writer.open();
      await listener.open();
      const received: SharedMessage[] = [];
      let wake: () => void = () => {};
      const unsubscribe = await listener.subscribe((message) => {
        received.push(message);
        wake();
      });
      const health: boolean[] = [];
      writer.onHealthChange((healthy) => health.push(healthy));

      await writer.insert(Array.from({ length: 100 }, () => makeTask({ maxAttempts: 3 })));
      const claims = await writer.claim(100, "node-a", 120_000);
      assertEquals(claims.length, 100);

      // Completions keep coming while the server goes down and up again.
      const restarted = server.restart();
      const writes = claims.map((claim, i) =>
        new Promise((resolve) => setTimeout(resolve, i * 10)).then(() =>
          writer.writeFenced([{
            task: changed(claim.task, { status: "succeeded", finishedAt: Date.now() }),
            leaseToken: claim.leaseToken,
          }])
        )
      );
      await restarted;
      const outcomes = await Promise.allSettled(writes);
      const failed = outcomes.filter((outcome) => outcome.status === "rejected");
      assertEquals(failed, [], "every write made across the restart must land");
      for (const outcome of outcomes) {
        assertEquals((outcome as PromiseFulfilledResult<string[]>).value, []);
      }
      assertEquals((await writer.counts()).succeeded, 100);
      assert(writer.healthy);
      if (health.length > 0) assertEquals(health.at(-1), true);

      // The listener came back on its own and said so; messages flow again.
      const until = async (predicate: () => boolean) => {
        while (!predicate()) await new Promise<void>((resolve) => (wake = resolve));
      };
      await until(() => received.some((m) => m.kind === "work" && m.origin === ""));
      await writer.publish({ kind: "cancel", origin: writer.instanceId, taskId: "t", nodeId: "n" });
      await until(() => received.some((m) => m.kind === "cancel"));
      await unsubscribe();
    } finally {
      await writer.close();
      await listener.close();
      await server.stop();
    }
  },
});
