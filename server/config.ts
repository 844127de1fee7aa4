/**
 * Service configuration: command-line flags and environment variables.
 *
 * Every setting has a flag (`--max-body`) and an environment variable made
 * from the same name (`THREADFLOW_MAX_BODY`); a flag wins over the variable,
 * and the variable over the default. Settings are validated at start with an
 * error that names the bad one. This module holds the settings table, the
 * help text and the command line; `config_values.ts` reads each value.
 *
 * @module
 */

import {
  ConfigError,
  envName,
  nonEmpty,
  oneOf,
  optionalInteger,
  parseBytes,
  parseDuration,
  parseOrigins,
  parseStore,
  parseSwitch,
  type RawSetting,
} from "./config_values.ts";

export { ConfigError, envName, parseBytes, parseDuration } from "./config_values.ts";

/** How much the service logs. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** How log lines are written. */
export type LogFormat = "pretty" | "json";

/** The resolved service configuration. */
export interface ServiceConfig {
  /** TCP port to listen on; `0` picks a free one. Default 8081. */
  port: number;
  /** Address to bind. Default `127.0.0.1`. */
  hostname: string;
  /** Worker count; `undefined` means the engine's default (one per CPU). */
  workers: number | undefined;
  /** Folder of extra task modules, or `undefined`. */
  tasksDir: string | undefined;
  /** Where user task types run unless their module says: `thread` or `process`. Default `thread`. */
  isolation: "thread" | "process";
  /** Heap limit of a worker process, MB, unless its module exports `memoryLimitMb`. Default 512. */
  taskMemoryMb: number;
  /** Store spec: `memory`, `sqlite`, `sqlite:PATH` or a `postgres://` URL. Default `sqlite` (`./data/threadflow.db`). */
  store: string;
  /** API token; `undefined` turns authentication off. */
  token: string | undefined;
  /**
   * Serve without a token on an address other than loopback (`--open`). Default
   * `false`: without a token, such an address is refused at start.
   */
  open: boolean;
  /** Origins allowed to call the API from a browser; empty means none. */
  corsOrigins: string[];
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxBody: number;
  /** Most tasks that may wait in the queue; `undefined` means the engine's default. */
  maxQueued: number | undefined;
  /** Longest time shutdown waits for work to finish, in ms. Default 10,000. */
  drainMs: number;
  /** How long finished tasks are kept, in ms. Default 7 days. */
  retentionMs: number;
  /** Most finished tasks kept. Default 1,000,000. */
  retentionMax: number;
  /** Default `info`. */
  logLevel: LogLevel;
  /** Default `pretty`. */
  logFormat: LogFormat;
}

/** What {@linkcode parseConfig} found: a configuration, or a request for help. */
export type ParsedConfig = { help: true } | { help: false; config: ServiceConfig };

/** One setting: its flag name, help text and how its raw string is read. */
interface SettingSpec {
  /** Flag name without dashes, e.g. `max-body`. */
  name: string;
  /** Value placeholder in the help text; empty for a switch such as `--open`. */
  arg: string;
  help: string;
  /** Default shown in the help text. */
  shown: string;
}

/**
 * Every setting, in help-text order. Adding one means adding it here and to
 * {@linkcode resolveSettings}.
 */
const SETTINGS: readonly SettingSpec[] = [
  {
    name: "port",
    arg: "N",
    help: "TCP port to listen on (0 picks a free port); PORT is read after THREADFLOW_PORT",
    shown: "8081",
  },
  {
    name: "hostname",
    arg: "HOST",
    help: "address to bind; beyond loopback it needs --token or --open",
    shown: "127.0.0.1",
  },
  { name: "workers", arg: "N", help: "worker count", shown: "number of CPUs" },
  { name: "tasks-dir", arg: "DIR", help: "folder of extra task modules (*.ts)", shown: "none" },
  {
    name: "isolation",
    arg: "MODE",
    help: "where user task types run unless their module says: thread or process",
    shown: "thread",
  },
  {
    name: "task-memory-mb",
    arg: "MB",
    help: "heap limit of a worker process unless its module exports memoryLimitMb",
    shown: "512",
  },
  {
    name: "store",
    arg: "SPEC",
    help: "where tasks live: sqlite[:PATH], memory or a postgres:// URL",
    shown: "sqlite:./data/threadflow.db",
  },
  {
    name: "token",
    arg: "TOKEN",
    help: "API token required on /api, /ws and the original endpoints",
    shown: "off",
  },
  {
    name: "open",
    arg: "",
    help: "serve without a token on an address other than loopback",
    shown: "off",
  },
  {
    name: "cors-origin",
    arg: "ORIGINS",
    help: "comma-separated origins allowed by CORS (or *)",
    shown: "none",
  },
  {
    name: "max-body",
    arg: "BYTES",
    help: "largest request body, e.g. 1048576, 512KiB, 4MiB",
    shown: "1MiB",
  },
  { name: "max-queued", arg: "N", help: "most tasks waiting in the queue", shown: "1000000" },
  { name: "drain-ms", arg: "MS", help: "how long shutdown lets work finish", shown: "10000" },
  {
    name: "retention",
    arg: "DURATION",
    help: "how long finished tasks are kept, e.g. 7d, 12h, 30m, 90s or ms",
    shown: "7d",
  },
  { name: "retention-max", arg: "N", help: "most finished tasks kept", shown: "1000000" },
  { name: "log-level", arg: "LEVEL", help: "debug | info | warn | error", shown: "info" },
  { name: "log-format", arg: "FORMAT", help: "pretty | json", shown: "pretty" },
];

/**
 * The `--help` text listing every flag, its environment variable and default.
 *
 * @example
 * ```ts
 * import { helpText } from "./config.ts";
 * console.log(helpText());
 * ```
 */
export function helpText(): string {
  const lines = [
    "ThreadFlow: a task-processing service for Deno.",
    "",
    "Usage: deno task start [flags]",
    "",
    "Every flag can also be set with the environment variable shown; a flag wins.",
    "",
  ];
  for (const setting of SETTINGS) {
    const flag = setting.arg === "" ? `--${setting.name}` : `--${setting.name} ${setting.arg}`;
    lines.push(`  ${flag.padEnd(26)}${setting.help} (default: ${setting.shown})`);
    const extra = setting.name === "open" ? "=1" : setting.name === "port" ? ", then PORT" : "";
    lines.push(`  ${"".padEnd(26)}env ${envName(setting.name)}${extra}`);
  }
  lines.push(`  ${"--help".padEnd(26)}print this help and exit`);
  return lines.join("\n");
}

/**
 * Reads the configuration from command-line arguments and environment
 * variables. Throws {@linkcode ConfigError} naming the bad setting.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const parsed = parseConfig(["--port", "0"], {});
 * if (!parsed.help) console.log(parsed.config.port); // 0
 * ```
 */
export function parseConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedConfig {
  const known = new Set(SETTINGS.map((setting) => setting.name));
  const switches = new Set(SETTINGS.filter((s) => s.arg === "").map((s) => s.name));
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return { help: true };
    if (!arg.startsWith("--")) {
      throw new ConfigError(
        arg,
        `Expected a flag such as --port: received ${JSON.stringify(arg)}.`,
      );
    }
    const equals = arg.indexOf("=");
    const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
    if (!known.has(name)) {
      throw new ConfigError(
        `--${name}`,
        `Unknown flag --${name}; run with --help to see the flags.`,
      );
    }
    let value: string;
    if (equals !== -1) {
      value = arg.slice(equals + 1);
    } else if (switches.has(name)) {
      value = "true";
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) {
        throw new ConfigError(`--${name}`, `The flag --${name} needs a value.`);
      }
      value = next;
      i++;
    }
    flags.set(name, value);
  }
  const raw = (name: string): string | undefined => {
    const value = flags.get(name) ?? env[envName(name)];
    // Hosting platforms (and the original ThreadFlow) set PORT; ours wins when both are set.
    if (value === undefined && name === "port") return env.PORT;
    return value;
  };
  const config = resolveSettings(raw);
  assertProtected(config);
  return { help: false, config };
}

/**
 * Whether `hostname` only accepts connections from this machine: `localhost`,
 * `127.0.0.0/8` or `::1`. Any other address or name counts as reachable from
 * other machines.
 *
 * @example
 * ```ts
 * import { isLoopback } from "./config.ts";
 * isLoopback("127.0.0.1"); // true
 * isLoopback("0.0.0.0"); // false
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const v4 = host.startsWith("::ffff:") ? host.slice("::ffff:".length) : host;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * How the service guards its API, for the start line and the dashboard:
 * `token` (a token is required), `open` (no token, on purpose, beyond this
 * machine) or `loopback` (no token, reachable from this machine only).
 *
 * @example
 * ```ts
 * import { authMode, parseConfig } from "./config.ts";
 * const parsed = parseConfig([], {});
 * if (!parsed.help) authMode(parsed.config); // "loopback"
 * ```
 */
export function authMode(config: ServiceConfig): "token" | "open" | "loopback" {
  if (config.token !== undefined) return "token";
  return isLoopback(config.hostname) ? "loopback" : "open";
}

/** Like Redis's protected mode: beyond loopback, a token or an explicit `--open`. */
function assertProtected(config: ServiceConfig): void {
  if (config.token !== undefined || config.open || isLoopback(config.hostname)) return;
  throw new ConfigError(
    "--hostname",
    `--hostname ${config.hostname} accepts connections from other machines, and no token is ` +
      "set, so anyone who can reach it could submit, cancel and read every task: set --token " +
      "(or THREADFLOW_TOKEN), or pass --open (or THREADFLOW_OPEN=1) to serve without one.",
  );
}

function resolveSettings(raw: RawSetting): ServiceConfig {
  const workers = optionalInteger(raw, "workers", 1, 1024);
  const maxQueued = optionalInteger(raw, "max-queued", 1, 100_000_000);
  return {
    port: optionalInteger(raw, "port", 0, 65_535) ?? 8081,
    hostname: nonEmpty(raw, "hostname") ?? "127.0.0.1",
    workers,
    tasksDir: nonEmpty(raw, "tasks-dir"),
    isolation: oneOf(raw, "isolation", ["thread", "process"] as const) ?? "thread",
    taskMemoryMb: optionalInteger(raw, "task-memory-mb", 16, 65_536) ?? 512,
    store: parseStore(raw("store")),
    token: nonEmpty(raw, "token"),
    open: parseSwitch(raw, "open"),
    corsOrigins: parseOrigins(raw("cors-origin")),
    maxBody: parseBytes(raw("max-body")) ?? 1024 * 1024,
    maxQueued,
    drainMs: optionalInteger(raw, "drain-ms", 0, 3_600_000) ?? 10_000,
    retentionMs: parseDuration(raw("retention"), "retention") ?? 7 * 86_400_000,
    retentionMax: optionalInteger(raw, "retention-max", 0, 1_000_000_000) ?? 1_000_000,
    logLevel: oneOf(raw, "log-level", ["debug", "info", "warn", "error"] as const) ?? "info",
    logFormat: oneOf(raw, "log-format", ["pretty", "json"] as const) ?? "pretty",
  };
}
