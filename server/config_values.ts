/**
 * How the service reads the raw string of one setting (a flag, else its
 * environment variable): integers in a range, one of a few words, switches,
 * sizes, durations, CORS origins. Each reader throws {@linkcode ConfigError}
 * naming the setting, its variable, what was expected and what it received.
 *
 * @module
 */

/** The raw string of a setting by its flag name, or `undefined` when it is not set. */
export type RawSetting = (name: string) => string | undefined;

/**
 * A setting was invalid; `setting` names its flag.
 *
 * @example
 * ```ts
 * import { ConfigError, parseConfig } from "./config.ts";
 * try {
 *   parseConfig(["--port", "x"], {});
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.setting, error.message);
 * }
 * ```
 */
export class ConfigError extends Error {
  /** The flag at fault, e.g. `--port`. */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/**
 * The environment variable read for a flag.
 *
 * @example
 * ```ts
 * import { envName } from "./config.ts";
 * envName("max-body"); // "THREADFLOW_MAX_BODY"
 * ```
 */
export function envName(flag: string): string {
  return "THREADFLOW_" + flag.toUpperCase().replaceAll("-", "_");
}

/** Where a setting comes from, for error messages: `--name (or THREADFLOW_NAME)`. */
function describeSource(name: string): string {
  if (name === "port") return `--port (or ${envName(name)}, or PORT)`;
  return `--${name} (or ${envName(name)})`;
}

/** A switch such as `--open`: 1, true, yes, on (or 0, false, no, off, empty); unset is `false`. */
export function parseSwitch(raw: RawSetting, name: string): boolean {
  const value = raw(name);
  if (value === undefined) return false;
  const normal = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(normal)) return true;
  if (["0", "false", "no", "off", ""].includes(normal)) return false;
  throw new ConfigError(
    `--${name}`,
    `${describeSource(name)} must be 1, true, yes or on (or 0, false, no, off): received ${
      JSON.stringify(value)
    }.`,
  );
}

/** A string that must not be empty, or `undefined` when unset. */
export function nonEmpty(raw: RawSetting, name: string): string | undefined {
  const value = raw(name);
  if (value === undefined) return undefined;
  if (value.trim() === "") {
    throw new ConfigError(`--${name}`, `${describeSource(name)} must not be empty.`);
  }
  return value;
}

/** An integer from `min` to `max`, or `undefined` when unset. */
export function optionalInteger(
  raw: RawSetting,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = raw(name);
  if (value === undefined) return undefined;
  const number = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new ConfigError(
      `--${name}`,
      `${describeSource(name)} must be an integer from ${min} to ${max}: received ${
        JSON.stringify(value)
      }.`,
    );
  }
  return number;
}

/** One of `choices`, or `undefined` when unset. */
export function oneOf<T extends string>(
  raw: RawSetting,
  name: string,
  choices: readonly T[],
): T | undefined {
  const value = raw(name);
  if (value === undefined) return undefined;
  const found = choices.find((choice) => choice === value);
  if (found === undefined) {
    throw new ConfigError(
      `--${name}`,
      `${describeSource(name)} must be one of ${choices.join(", ")}: received ${
        JSON.stringify(value)
      }.`,
    );
  }
  return found;
}

/** A store spec (only its shape: `store_from_config.ts` knows which kinds exist); default `sqlite`. */
export function parseStore(value: string | undefined): string {
  if (value === undefined) return "sqlite";
  // Only the shape is checked here; store_from_config.ts knows which kinds exist.
  if (value.trim() === "") {
    throw new ConfigError("--store", `${describeSource("store")} must not be empty.`);
  }
  return value;
}

const DURATION_UNITS: Record<string, number> = {
  "": 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Reads a duration such as `7d`, `12h`, `30m`, `90s` or `5000` (ms) into
 * milliseconds; `undefined` stays `undefined`. Throws {@linkcode ConfigError}
 * naming `--<name>`.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./config.ts";
 * parseDuration("12h", "retention"); // 43200000
 * ```
 */
export function parseDuration(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/.exec(value);
  const unit = match ? DURATION_UNITS[match[2]] : undefined;
  const ms = match && unit !== undefined ? Number(match[1]) * unit : NaN;
  if (!Number.isSafeInteger(ms) || ms > 3650 * 86_400_000) {
    throw new ConfigError(
      `--${name}`,
      `${
        describeSource(name)
      } must be a duration such as 7d, 12h, 30m, 90s or a number of ms (at most 10 years): received ${
        JSON.stringify(value)
      }.`,
    );
  }
  return ms;
}

/** A comma-separated list of CORS origins (`http(s)://host[:port]` or `*`); unset is none. */
export function parseOrigins(value: string | undefined): string[] {
  if (value === undefined) return [];
  const origins = value.split(",").map((origin) => origin.trim()).filter((origin) => origin);
  for (const origin of origins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(
        "--cors-origin",
        `${describeSource("cors-origin")} must list origins like http://localhost:3000 or *: ` +
          `received ${JSON.stringify(origin)}.`,
      );
    }
  }
  return origins;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 * 1000,
  mib: 1024 * 1024,
};

/**
 * Reads a size such as `1048576`, `512KiB`, `4MiB` or `2MB`; `undefined`
 * stays `undefined`. Throws {@linkcode ConfigError} naming `--<name>`.
 *
 * @example
 * ```ts
 * import { parseBytes } from "./config.ts";
 * parseBytes("4MiB"); // 4194304
 * ```
 */
export function parseBytes(value: string | undefined, name = "max-body"): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = match ? BYTE_UNITS[match[2].toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Number(match[1]) * unit : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 1024 * 1024 * 1024) {
    throw new ConfigError(
      `--${name}`,
      `${describeSource(name)} must be a size from 1 byte to 1GiB such as 1048576, 512KiB ` +
        `or 4MiB: received ${JSON.stringify(value)}.`,
    );
  }
  return bytes;
}
