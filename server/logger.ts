/**
 * Structured logging: one line per record, human-readable (`pretty`) or one
 * JSON object per line (`json`).
 *
 * @module
 */

import type { LogFormat, LogLevel } from "./config.ts";

/** Extra structured fields of a log record. */
export type LogFields = Record<string, unknown>;

/** Writes log records at or above its level. */
export interface Logger {
  /** The lowest level written. */
  readonly level: LogLevel;
  /** Whether a record at `level` would be written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Default `pretty`. */
  format?: LogFormat;
  /** Receives each finished line without its newline. Default: standard output. */
  write?: (line: string) => void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Creates a logger.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const logger = createLogger({ level: "info", format: "json" });
 * logger.info("Task finished", { taskId: "0190…", status: "succeeded" });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "pretty";
  const write = options.write ?? ((line: string) => console.log(line));
  const threshold = RANK[level];
  const log = (recordLevel: LogLevel, message: string, fields?: LogFields) => {
    if (RANK[recordLevel] < threshold) return;
    write(
      format === "json"
        ? formatJson(recordLevel, message, fields)
        : formatPretty(recordLevel, message, fields),
    );
  };
  return {
    level,
    enabled: (recordLevel) => RANK[recordLevel] >= threshold,
    debug: (message, fields) => log("debug", message, fields),
    info: (message, fields) => log("info", message, fields),
    warn: (message, fields) => log("warn", message, fields),
    error: (message, fields) => log("error", message, fields),
  };
}

/**
 * A logger that writes nothing, for tests and benchmarks.
 *
 * @example
 * ```ts
 * import { silentLogger } from "./logger.ts";
 * silentLogger().info("never printed");
 * ```
 */
export function silentLogger(): Logger {
  return createLogger({ level: "error", write: () => {} });
}

function formatJson(level: LogLevel, message: string, fields?: LogFields): string {
  return JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }, (
    _key,
    value,
  ) => value instanceof Error ? { name: value.name, message: value.message } : value);
}

function formatPretty(level: LogLevel, message: string, fields?: LogFields): string {
  const time = new Date().toISOString().slice(11, 23);
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${message}`;
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      const text = value instanceof Error
        ? `${value.name}: ${value.message}`
        : typeof value === "string"
        ? (/\s/.test(value) ? JSON.stringify(value) : value)
        : JSON.stringify(value);
      line += ` ${key}=${text}`;
    }
  }
  return line;
}
