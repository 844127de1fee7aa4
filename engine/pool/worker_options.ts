/**
 * Whether this Deno process may give workers their own permissions.
 *
 * Deno gates `new Worker(url, { deno: { permissions } })` behind
 * `--unstable-worker-options` (or `"unstable": ["worker-options"]` in
 * `deno.json`), and without it does not throw: it prints a line and ends the
 * process. No API tells whether the feature is on, so this reads the command
 * line and the configuration file Deno would use, the way Deno finds them,
 * and answers `undefined` whenever it cannot tell (then the engine goes on).
 *
 * @module
 */

/** The flag that enables sandboxed workers. */
export const WORKER_OPTIONS_FLAG = "--unstable-worker-options";

/**
 * `true` when worker options are enabled, `false` when the command line and
 * configuration show they are not, `undefined` when this cannot be read
 * (no permission, not Linux, a compiled binary).
 *
 * @example
 * ```ts
 * import { workerOptionsEnabled } from "./engine/pool/worker_options.ts";
 * if (workerOptionsEnabled() === false) console.log("run with --unstable-worker-options");
 * ```
 */
export function workerOptionsEnabled(): boolean | undefined {
  let args: string[];
  try {
    args = Deno.readTextFileSync("/proc/self/cmdline").split("\0").filter((arg) => arg !== "");
  } catch {
    return undefined;
  }
  // A compiled binary carries its flags inside; its command line is only the user's.
  if (args[1] !== "run" && args[1] !== "test" && args[1] !== "bench" && args[1] !== "eval") {
    return undefined;
  }
  const flags = args.slice(2, firstPositional(args));
  if (flags.some((arg) => arg === WORKER_OPTIONS_FLAG || arg === "--unstable")) return true;
  if (flags.includes("--no-config")) return false;
  const explicit = configFlag(flags);
  const config = explicit ?? findConfig();
  if (config === null) return false;
  if (config === undefined) return undefined;
  try {
    const text = Deno.readTextFileSync(config);
    return unstableFeatures(text).includes("worker-options");
  } catch {
    return undefined;
  }
}

/**
 * The Deno configuration file this process runs with, as a worker process
 * should be given it (`--config`): the one on the command line, else the
 * nearest `deno.json(c)` above the main module, else above the working
 * folder; `undefined` when there is none or it cannot be read.
 *
 * @example
 * ```ts
 * import { denoConfigFile } from "./engine/pool/worker_options.ts";
 * const args = denoConfigFile() === undefined ? [] : ["--config", denoConfigFile()!];
 * ```
 */
export function denoConfigFile(): string | undefined {
  try {
    const args = Deno.readTextFileSync("/proc/self/cmdline").split("\0").filter((a) => a !== "");
    const explicit = configFlag(args.slice(2, firstPositional(args)));
    if (explicit !== undefined) return explicit;
  } catch {
    // Not Linux, or no permission: look for the file instead.
  }
  if (Deno.mainModule.startsWith("file:")) {
    const found = findConfig(new URL(".", Deno.mainModule).pathname.replace(/\/$/, ""));
    if (typeof found === "string") return found;
  }
  return findConfig() ?? undefined;
}

/** Index of the script argument: the first argument after the subcommand that is not a flag. */
function firstPositional(args: string[]): number {
  for (let i = 2; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-")) return i;
    if ((arg === "--config" || arg === "-c") && i + 1 < args.length) i++;
  }
  return args.length;
}

function configFlag(flags: string[]): string | undefined {
  for (let i = 0; i < flags.length; i++) {
    const arg = flags[i];
    if ((arg === "--config" || arg === "-c") && i + 1 < flags.length) return flags[i + 1];
    if (arg.startsWith("--config=")) return arg.slice("--config=".length);
  }
  return undefined;
}

/** `deno.json`/`deno.jsonc` in the working folder or a parent; `null` when none; `undefined` when unreadable. */
function findConfig(from?: string): string | null | undefined {
  let dir: string;
  try {
    dir = from ?? Deno.cwd();
  } catch {
    return undefined;
  }
  for (;;) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      const path = `${dir}/${name}`;
      try {
        if (Deno.statSync(path).isFile) return path;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) return undefined;
      }
    }
    const parent = dir.replace(/\/[^/]*$/, "");
    if (parent === dir || parent === "") return null;
    dir = parent;
  }
}

/** The `unstable` list of a deno.json(c) text (comments allowed). */
function unstableFeatures(text: string): string[] {
  const withoutComments = text.replace(
    /\/\*[\s\S]*?\*\/|("(?:\\.|[^"\\])*")|\/\/[^\n]*/g,
    (_match, s) => s ?? "",
  );
  try {
    const parsed = JSON.parse(withoutComments.replace(/,(\s*[}\]])/g, "$1"));
    return Array.isArray(parsed?.unstable) ? parsed.unstable : [];
  } catch {
    return [];
  }
}
