/**
 * The task type registry: the built-in types and the modules of `tasksDir`.
 * Types are looked up by name in a map, so a name from a user can never
 * reach the file system.
 *
 * @module
 */

import { InvalidOptionError } from "../model/errors.ts";
import { normalizeLimits, type TypeLimits } from "../model/type_controls.ts";
import type { WorkerGroup } from "./hooks.ts";
import { type Isolation, ISOLATIONS } from "./worker_handle.ts";
import {
  missingInParent,
  NO_PERMISSIONS,
  type NormalizedPermissions,
  normalizePermissions,
  permissionsKey,
} from "./permissions.ts";

/** A task type the engine can run. */
export interface TaskTypeInfo {
  name: string;
  /** Shipped with ThreadFlow (`true`) or loaded from `tasksDir`. */
  builtin: boolean;
  /** The module's URL. */
  source: string;
  /** What its workers may do; nothing unless the module exports `permissions`. */
  permissions: NormalizedPermissions;
  /** Its default limits (`export const limits`); `{}` for none. */
  limits: TypeLimits;
  /** Where its tasks run (`export const isolation`); built-in types run in threads. */
  isolation: Isolation;
  /** Heap limit of its worker processes, MB (`export const memoryLimitMb`). */
  memoryLimitMb: number;
}

/** How task types are isolated unless their module says otherwise. */
export interface IsolationDefaults {
  /** Isolation of user task types that export none. Default `"thread"`. */
  isolation: Isolation;
  /** Heap limit of worker processes, MB, for modules that export no `memoryLimitMb`. Default 512. */
  memoryLimitMb: number;
}

/** Smallest and largest `memoryLimitMb`. */
export const MEMORY_LIMIT_RANGE = { min: 16, max: 65_536 } as const;

/** How long a task module may take to load in the checking worker. */
const PROBE_TIMEOUT_MS = 30_000;

/** Names of the built-in task types. */
export const BUILTIN_TASK_TYPES = ["noop", "sleep", "fib", "primes", "sha256", "gzip"] as const;

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MODULE_FILE = /\.(ts|js|mts|mjs)$/;

/**
 * Lists the built-in types and every module in `tasksDir` (a type named after
 * its file). Each module is loaded once in a worker without permissions,
 * never in this process, to check its default export and read its
 * `permissions`. Throws {@linkcode InvalidOptionError} naming the folder or
 * file at fault.
 */
export async function loadTaskTypes(
  tasksDir: URL | null,
  options: { sandbox: boolean } & Partial<IsolationDefaults> = { sandbox: true },
): Promise<Map<string, TaskTypeInfo>> {
  const defaults: IsolationDefaults = {
    isolation: options.isolation ?? "thread",
    memoryLimitMb: options.memoryLimitMb ?? 512,
  };
  const types = new Map<string, TaskTypeInfo>();
  for (const name of BUILTIN_TASK_TYPES) {
    const source = new URL(`../../workers/tasks/${name}.ts`, import.meta.url).href;
    types.set(name, {
      name,
      builtin: true,
      source,
      permissions: NO_PERMISSIONS,
      limits: {},
      isolation: "thread",
      memoryLimitMb: defaults.memoryLimitMb,
    });
  }
  if (tasksDir === null) return types;

  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(tasksDir)) {
      if (!entry.isFile || !MODULE_FILE.test(entry.name)) continue;
      if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
      if (/_test\.(ts|js|mts|mjs)$/.test(entry.name) || entry.name.endsWith(".d.ts")) continue;
      files.push(entry.name);
    }
  } catch (error) {
    throw new InvalidOptionError(
      `Option tasksDir must be a readable folder: ${tasksDir.pathname} (${
        (error as Error).message
      }).`,
      "tasksDir",
    );
  }
  files.sort();
  for (const file of files) {
    const name = file.replace(MODULE_FILE, "");
    const source = new URL(file, tasksDir).href;
    if (!TYPE_NAME.test(name)) {
      throw new InvalidOptionError(
        `Task module ${source} has a name that is not a valid task type: use a letter, then letters, digits, dashes or underscores (at most 64).`,
        "tasksDir",
      );
    }
    const existing = types.get(name);
    if (existing !== undefined) {
      throw new InvalidOptionError(
        `Task module ${source} is named like the ${
          existing.builtin ? "built-in" : "other"
        } task type ${JSON.stringify(name)} (${existing.source}): rename the file.`,
        "tasksDir",
      );
    }
    types.set(name, {
      name,
      builtin: false,
      source,
      permissions: NO_PERMISSIONS,
      limits: {},
      ...defaults,
    });
  }
  const users = [...types.values()].filter((info) => !info.builtin);
  const reports = await inspectModules(users.map((info) => info.source), options.sandbox);
  users.forEach((info, i) => {
    info.permissions = checkReport(info.source, reports[i]);
    info.limits = checkLimits(info.source, reports[i].limits);
    Object.assign(info, checkIsolation(info.source, reports[i], defaults));
  });
  return types;
}

/** What a task module exports, as seen from the checking worker. */
interface ModuleReport {
  hasDefault: boolean;
  permissions: unknown;
  limits: unknown;
  isolation: unknown;
  memoryLimitMb: unknown;
}

/**
 * Loads task modules in a throwaway worker with no permissions and reports
 * their exports: all in one worker, or one worker each when that fails, to
 * name the module at fault.
 */
async function inspectModules(sources: string[], sandbox: boolean): Promise<ModuleReport[]> {
  if (sources.length === 0) return [];
  try {
    return await probe(sources, sandbox);
  } catch (error) {
    if (sources.length === 1) {
      throw new InvalidOptionError(
        `Task module ${sources[0]} cannot be used: ${(error as Error).message}.`,
        "tasksDir",
      );
    }
    return await Promise.all(sources.map((source) => inspectModules([source], sandbox)))
      .then((reports) => reports.flat());
  }
}

async function probe(sources: string[], sandbox: boolean): Promise<ModuleReport[]> {
  const entry = [
    ...sources.map((source, i) => `import * as t${i} from ${JSON.stringify(source)};`),
    `const reports = [${sources.map((_, i) => `t${i}`).join(", ")}].map((task) => {`,
    `  let permissions = task.permissions ?? null;`,
    `  try { structuredClone(permissions); } catch { permissions = "not cloneable"; }`,
    `  let limits = task.limits ?? null;`,
    `  try { structuredClone(limits); } catch { limits = "not cloneable"; }`,
    `  const isolation = typeof task.isolation === "string" ? task.isolation : task.isolation === undefined ? null : "not a string";`,
    `  const memoryLimitMb = typeof task.memoryLimitMb === "number" ? task.memoryLimitMb : task.memoryLimitMb === undefined ? null : "not a number";`,
    `  return { hasDefault: typeof task.default === "function", permissions, limits, isolation, memoryLimitMb };`,
    `});`,
    `self.postMessage(reports);`,
  ].join("\n");
  const worker = new Worker(`data:application/javascript,${encodeURIComponent(entry)}`, {
    type: "module",
    ...(sandbox ? { deno: { permissions: "none" as const } } : {}),
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<ModuleReport[]>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(`it failed to load: ${event.message}`));
      };
      timer = setTimeout(
        () => reject(new Error(`it did not load within ${PROBE_TIMEOUT_MS} ms`)),
        PROBE_TIMEOUT_MS,
      );
    });
  } finally {
    clearTimeout(timer);
    worker.terminate();
  }
}

function checkReport(source: string, report: ModuleReport): NormalizedPermissions {
  try {
    if (!report.hasDefault) throw new Error("it has no default export that is a function");
    const permissions = normalizePermissions(report.permissions);
    const missing = missingInParent(permissions);
    if (missing.length > 0) {
      throw new Error(
        `it asks for permissions ThreadFlow itself was not given (${
          missing.join(", ")
        }); start ThreadFlow with them, or narrow the module's permissions`,
      );
    }
    return permissions;
  } catch (error) {
    throw new InvalidOptionError(
      `Task module ${source} cannot be used: ${(error as Error).message}.`,
      "tasksDir",
    );
  }
}

function checkLimits(source: string, limits: unknown): TypeLimits {
  if (limits === null) return {};
  try {
    return normalizeLimits(limits);
  } catch (error) {
    throw new InvalidOptionError(
      `Task module ${source} cannot be used: its export limits is wrong: ${
        (error as Error).message
      }`,
      "tasksDir",
    );
  }
}

/**
 * The isolation a module asks for: `export const isolation` and
 * `export const memoryLimitMb`. A memory limit holds only in a process, so a
 * module that sets one without an isolation runs in a process.
 */
function checkIsolation(
  source: string,
  report: ModuleReport,
  defaults: IsolationDefaults,
): { isolation: Isolation; memoryLimitMb: number } {
  const fail = (message: string) =>
    new InvalidOptionError(`Task module ${source} cannot be used: ${message}.`, "tasksDir");
  const { isolation, memoryLimitMb } = report;
  if (isolation !== null && !(ISOLATIONS as readonly unknown[]).includes(isolation)) {
    throw fail(
      `its export isolation must be "thread" or "process": received ${JSON.stringify(isolation)}`,
    );
  }
  if (memoryLimitMb === null) {
    return {
      isolation: (isolation as Isolation | null) ?? defaults.isolation,
      memoryLimitMb: defaults.memoryLimitMb,
    };
  }
  const { min, max } = MEMORY_LIMIT_RANGE;
  if (
    typeof memoryLimitMb !== "number" || !Number.isInteger(memoryLimitMb) ||
    memoryLimitMb < min || memoryLimitMb > max
  ) {
    throw fail(
      `its export memoryLimitMb must be an integer from ${min} to ${max}: received ${
        JSON.stringify(memoryLimitMb)
      }`,
    );
  }
  if (isolation === "thread") {
    throw fail(
      `it exports memoryLimitMb with isolation "thread", but only a worker process has a heap ` +
        `limit: export isolation = "process", or drop memoryLimitMb`,
    );
  }
  return { isolation: "process", memoryLimitMb };
}

/**
 * Task types grouped by their permissions and isolation (and a process's
 * memory limit); the first group is the built-ins'.
 */
export function permissionGroups(types: Map<string, TaskTypeInfo>): WorkerGroup[] {
  const groups = new Map<string, WorkerGroup>();
  const keyOf = (permissions: NormalizedPermissions, isolation: Isolation, memoryLimitMb: number) =>
    `${permissionsKey(permissions)}|${isolation}|${isolation === "process" ? memoryLimitMb : ""}`;
  groups.set(keyOf(NO_PERMISSIONS, "thread", 0), {
    permissions: NO_PERMISSIONS,
    isolation: "thread",
    memoryLimitMb: 0,
    types: {},
  });
  for (const info of types.values()) {
    const key = keyOf(info.permissions, info.isolation, info.memoryLimitMb);
    let group = groups.get(key);
    if (group === undefined) {
      group = {
        permissions: info.permissions,
        isolation: info.isolation,
        memoryLimitMb: info.memoryLimitMb,
        types: {},
      };
      groups.set(key, group);
    }
    group.types[info.name] = info.source;
  }
  return [...groups.values()];
}
