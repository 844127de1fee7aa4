import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  authMode,
  ConfigError,
  helpText,
  isLoopback,
  parseConfig,
  type ServiceConfig,
} from "../../server/config.ts";

function config(args: string[], env: Record<string, string> = {}): ServiceConfig {
  const parsed = parseConfig(args, env);
  if (parsed.help) throw new Error("Unexpected help.");
  return parsed.config;
}

Deno.test("parseConfig fills every default", () => {
  assertEquals(config([]), {
    port: 8081,
    hostname: "127.0.0.1",
    workers: undefined,
    tasksDir: undefined,
    isolation: "thread",
    taskMemoryMb: 512,
    store: "sqlite",
    token: undefined,
    open: false,
    corsOrigins: [],
    maxBody: 1024 * 1024,
    maxQueued: undefined,
    drainMs: 10_000,
    retentionMs: 7 * 86_400_000,
    retentionMax: 1_000_000,
    logLevel: "info",
    logFormat: "pretty",
  });
});

Deno.test("parseConfig reads flags in both forms and environment variables; flags win", () => {
  const parsed = config(
    ["--port", "9000", "--workers=3", "--max-body", "4MiB", "--cors-origin", "http://a.test,*"],
    { THREADFLOW_PORT: "1234", THREADFLOW_TOKEN: "t", THREADFLOW_LOG_FORMAT: "json" },
  );
  assertEquals(parsed.port, 9000);
  assertEquals(parsed.workers, 3);
  assertEquals(parsed.maxBody, 4 * 1024 * 1024);
  assertEquals(parsed.corsOrigins, ["http://a.test", "*"]);
  assertEquals(parsed.token, "t");
  assertEquals(parsed.logFormat, "json");
  assertEquals(config([], { THREADFLOW_PORT: "1234" }).port, 1234);
});

Deno.test("parseConfig names the bad setting", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [["--port", "70000"], {}, "--port"],
    [["--port", "abc"], {}, "--port"],
    [[], { THREADFLOW_WORKERS: "0" }, "--workers"],
    [["--log-level", "loud"], {}, "--log-level"],
    [["--log-format", "xml"], {}, "--log-format"],
    [["--max-body", "lots"], {}, "--max-body"],
    [["--cors-origin", "not an origin"], {}, "--cors-origin"],
    [["--frobnicate", "1"], {}, "--frobnicate"],
    [["--port"], {}, "--port"],
    [["stray"], {}, "stray"],
    [["--token", ""], {}, "--token"],
  ];
  for (const [args, env, setting] of cases) {
    throws(() => parseConfig(args, env), (error: unknown) => {
      assert(error instanceof ConfigError, String(error));
      assertEquals(error.setting, setting, args.join(" "));
      assert(error.message.endsWith("."), error.message);
      return true;
    });
  }
});

Deno.test("--retention takes a duration with a unit; a bad one is refused naming it", () => {
  assertEquals(config(["--retention", "12h"]).retentionMs, 12 * 3_600_000);
  assertEquals(config(["--retention", "90s"]).retentionMs, 90_000);
  assertEquals(config([], { THREADFLOW_RETENTION: "5000" }).retentionMs, 5000);
  assertEquals(config(["--retention-max", "10"]).retentionMax, 10);
  for (const bad of ["3x", "-1d", "", "d"]) {
    throws(() => config(["--retention", bad]), (error: unknown) => {
      assert(error instanceof ConfigError);
      assertEquals(error.setting, "--retention");
      return true;
    });
  }
});

Deno.test("--help asks for help, and the help text lists every flag with its variable", () => {
  assertEquals(parseConfig(["--port", "1", "--help"], {}), { help: true });
  const text = helpText();
  for (
    const flag of [
      "--port",
      "--hostname",
      "--workers",
      "--tasks-dir",
      "--store",
      "--token",
      "--open",
      "--cors-origin",
      "--max-body",
      "--max-queued",
      "--drain-ms",
      "--retention",
      "--retention-max",
      "--log-level",
      "--log-format",
    ]
  ) {
    assert(text.includes(flag), flag);
  }
  assert(text.includes("THREADFLOW_MAX_BODY"));
  assert(text.includes("THREADFLOW_OPEN=1"));
  assert(text.includes("PORT"));
});

Deno.test("PORT is read after THREADFLOW_PORT, as hosting platforms set it", () => {
  assertEquals(config([], { PORT: "5000" }).port, 5000);
  assertEquals(config([], { PORT: "5000", THREADFLOW_PORT: "6000" }).port, 6000);
  assertEquals(config(["--port", "7000"], { PORT: "5000" }).port, 7000);
  throws(() => config([], { PORT: "web" }), (error: unknown) => {
    assert(error instanceof ConfigError);
    assertEquals(error.setting, "--port");
    assert(error.message.includes("PORT"), error.message);
    return true;
  });
});

Deno.test("beyond loopback, the service starts only with a token or an explicit --open", () => {
  for (const hostname of ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"]) {
    assertEquals(authMode(config(["--hostname", hostname])), "loopback", hostname);
    assert(isLoopback(hostname), hostname);
  }
  for (const hostname of ["0.0.0.0", "192.168.1.20", "::", "example.test"]) {
    assert(!isLoopback(hostname), hostname);
    throws(() => config(["--hostname", hostname]), (error: unknown) => {
      assert(error instanceof ConfigError);
      assertEquals(error.setting, "--hostname");
      assert(error.message.includes("--token") && error.message.includes("--open"), error.message);
      return true;
    });
  }
  const open = config(["--hostname", "0.0.0.0", "--open"]);
  assertEquals([open.open, authMode(open)], [true, "open"]);
  assertEquals(config(["--hostname", "0.0.0.0"], { THREADFLOW_OPEN: "1" }).open, true);
  assertEquals(config(["--hostname=0.0.0.0", "--open=true"]).open, true);
  const token = config(["--hostname", "0.0.0.0"], { THREADFLOW_TOKEN: "s3cret" });
  assertEquals(authMode(token), "token");
  throws(() => config(["--hostname", "0.0.0.0", "--open=false"]), ConfigError);
  throws(() => config([], { THREADFLOW_OPEN: "maybe" }), (error: unknown) => {
    assert(error instanceof ConfigError);
    assertEquals(error.setting, "--open");
    return true;
  });
});

Deno.test("parseConfig reads --isolation and --task-memory-mb (and their variables), and names a bad one", () => {
  const parsed = config(["--isolation", "process"], { THREADFLOW_TASK_MEMORY_MB: "128" });
  assertEquals(parsed.isolation, "process");
  assertEquals(parsed.taskMemoryMb, 128);
  assertEquals(config([], { THREADFLOW_ISOLATION: "process" }).isolation, "process");
  for (const args of [["--isolation", "vm"], ["--task-memory-mb", "8"]]) {
    let error: unknown;
    try {
      config(args);
    } catch (caught) {
      error = caught;
    }
    assert(error instanceof ConfigError, `${args.join(" ")} was accepted`);
    assertEquals(error.setting, args[0]);
  }
});
