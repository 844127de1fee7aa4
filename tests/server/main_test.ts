import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { TestClient } from "./_ws_client.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const TERMINAL = new Set(["task.succeeded", "task.failed", "task.cancelled"]);

/** A running `main.ts` subprocess whose output lines are collected as they come. */
interface Service {
  child: Deno.ChildProcess;
  url: string;
  lines: string[];
  done: Promise<void>;
}

async function spawnService(
  args: string[],
  env: Record<string, string> = {},
): Promise<Service> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      ...("PORT" in env ? [] : ["--port", "0"]),
      "--store",
      "memory",
      ...args,
    ],
    env,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const lines: string[] = [];
  const listening = Promise.withResolvers<string>();
  const done = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const match = /ThreadFlow listening on (http:\/\/[\d.:]+)/.exec(line);
        if (match) listening.resolve(match[1]);
      }
    }
    listening.reject(new Error(`main.ts exited before listening:\n${lines.join("\n")}`));
  })();
  return { child, url: await listening.promise, lines, done };
}

Deno.test("main.ts --help prints every flag; a bad flag exits 2 naming it", async () => {
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--help"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(help.code, 0);
  const text = new TextDecoder().decode(help.stdout);
  assert(text.includes("--max-body") && text.includes("THREADFLOW_TOKEN"));

  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--port", "nope"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bad.code, 2);
  assert(new TextDecoder().decode(bad.stderr).includes("--port"));
});

Deno.test("main.ts beyond loopback: exit 2 without --token or --open; the start line says which", async () => {
  const refused = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--hostname", "0.0.0.0", "--port", "0", "--store", "memory"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(refused.code, 2);
  const message = new TextDecoder().decode(refused.stderr).trim();
  assertEquals(message.split("\n").length, 1, message);
  assert(/--hostname 0\.0\.0\.0/.test(message) && /--token/.test(message), message);
  assert(/--open/.test(message) && /THREADFLOW_OPEN/.test(message), message);
  assert(!new TextDecoder().decode(refused.stdout).includes("listening on"));

  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--hostname", "0.0.0.0", "--open"], {}, /\(--open: no API token/],
    [["--hostname", "0.0.0.0"], { THREADFLOW_OPEN: "1" }, /\(--open: no API token/],
    [["--hostname", "0.0.0.0", "--token", "s3cret"], {}, /\(API token required\)/],
    [[], {}, /\(no API token: reachable from this machine only\)/],
  ];
  for (const [args, env, expected] of cases) {
    const service = await spawnService(["--workers", "1", ...args], env);
    const line = service.lines.find((text) => text.includes("listening on"))!;
    assert(expected.test(line), `${args.join(" ")}: ${line}`);
    service.child.kill("SIGTERM");
    assertEquals((await service.child.status).code, 0);
    await service.done;
  }
});

Deno.test("main.ts listens on PORT when THREADFLOW_PORT and --port are not set", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const service = await spawnService(["--workers", "1"], { PORT: String(port) });
  try {
    assertEquals(new URL(service.url).port, String(port));
    const health = await (await fetch(`${service.url}/health`)).json();
    assertEquals(health.http_port, port);
  } finally {
    service.child.kill("SIGTERM");
    await service.child.status;
    await service.done;
  }
});

Deno.test("main.ts exits 1 naming the address when the port is taken", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--port", String(listener.addr.port), "--store", "memory"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(taken.code, 1);
  assert(new TextDecoder().decode(taken.stdout).includes(`127.0.0.1:${listener.addr.port}`));
});

Deno.test("SIGTERM under load: WebSockets close 1001, every accepted task ends, exit 0", async () => {
  const service = await spawnService([
    "--workers",
    "2",
    "--log-format",
    "json",
    "--drain-ms",
    "30000",
  ]);
  const client = await TestClient.connect(`${service.url.replace("http", "ws")}/ws`);
  const accepted = new Set<string>();
  let stop = false;
  const submitter = async () => {
    while (!stop) {
      try {
        const response = await fetch(`${service.url}/api/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ type: "sleep", payload: { ms: 5 } }),
        });
        const body = await response.json();
        if (response.status === 201) accepted.add(body.task.id);
      } catch {
        // Refused once the server stopped accepting.
        return;
      }
    }
  };
  const submitters = Array.from({ length: 8 }, () => submitter());
  while (accepted.size < 200) await new Promise((resolve) => setTimeout(resolve, 10));
  service.child.kill("SIGTERM");
  const closed = await client.closed;
  await new Promise((resolve) => setTimeout(resolve, 100));
  stop = true;
  await Promise.all(submitters);
  const status = await service.child.status;
  await service.done;

  assertEquals(closed.code, 1001);
  assertEquals(status.code, 0);
  const ended = new Set<string>();
  for (const line of service.lines) {
    if (!line.startsWith("{")) continue;
    const record = JSON.parse(line);
    if (TERMINAL.has(record.msg)) ended.add(record.taskId);
  }
  const lost = [...accepted].filter((id) => !ended.has(id));
  assertEquals(lost, [], `${lost.length} of ${accepted.size} accepted tasks never ended`);
  assert(service.lines.some((line) => line.includes("Engine closed.")));
});

Deno.test("a second signal exits at once", async () => {
  const service = await spawnService(["--workers", "1", "--drain-ms", "120000"]);
  const response = await fetch(`${service.url}/api/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "sleep", payload: { ms: 120000 } }),
  });
  assertEquals(response.status, 201);
  await response.body?.cancel();
  service.child.kill("SIGTERM");
  // Wait until the first signal was taken in, then send the second.
  while (!service.lines.some((line) => line.includes("Shutting down"))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  service.child.kill("SIGINT");
  const status = await service.child.status;
  await service.done;
  assertEquals(status.code, 130);
});

Deno.test("while the engine starts, /health answers and /ready is 503", async () => {
  // A task module that takes a while to load keeps the engine starting.
  const tasksDir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${tasksDir}/slow_loading.ts`,
    "await new Promise((resolve) => setTimeout(resolve, 1500));\n" +
      "export default function (payload: unknown) {\n  return payload;\n}\n",
  );
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "--port",
      String(port),
      "--store",
      "memory",
      "--tasks-dir",
      tasksDir,
      "--workers",
      "1",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    let ready: Response | undefined;
    let health: Response | undefined;
    for (let i = 0; i < 200 && ready === undefined; i++) {
      try {
        health = await fetch(`http://127.0.0.1:${port}/health`);
        ready = await fetch(`http://127.0.0.1:${port}/ready`);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    assertEquals(health?.status, 200);
    assertEquals((await health!.json()).status, "starting");
    assertEquals(ready?.status, 503);
    assertEquals((await ready!.json()).error.code, "not_ready");
    // Then it becomes ready.
    let status = 503;
    for (let i = 0; i < 300 && status !== 200; i++) {
      const answer = await fetch(`http://127.0.0.1:${port}/ready`);
      await answer.body?.cancel();
      status = answer.status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(status, 200);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel();
    await Deno.remove(tasksDir, { recursive: true });
  }
});
