/**
 * The entry module of a task worker: the runtime and one permission group's
 * task modules, imported statically so they load with the worker whatever
 * its permissions.
 *
 * @module
 */

const RUNTIME_URL = new URL("./worker_runtime.ts", import.meta.url);
const PROCESS_STDIO_URL = new URL("./process_stdio.ts", import.meta.url);
const FRAMES_URL = new URL("./frames.ts", import.meta.url);

/**
 * A `data:` URL of a module that imports the worker runtime and `types`
 * (task type name → module URL) and registers them. With `inProcess`, for
 * the worker inside a worker process, task output meant for stdout goes to
 * stderr and the runtime speaks frames, with MessagePack loaded from
 * `msgpackUrl` (default `"@msgpack/msgpack"`). Default `false`.
 *
 * @example
 * ```ts
 * import { entryModule } from "./engine/pool/entry.ts";
 * const url = entryModule({ noop: new URL("./workers/tasks/noop.ts", import.meta.url).href });
 * url.startsWith("data:application/javascript,"); // true
 * ```
 */
export function entryModule(
  types: Record<string, string>,
  options: { inProcess?: boolean; msgpackUrl?: string } = {},
): string {
  const names = Object.keys(types);
  const lines: string[] = [];
  if (options.inProcess === true) {
    // In a worker process, stdout carries the pool's frames: task output goes to stderr, and
    // the runtime speaks frames (MessagePack, which thread workers never load).
    lines.push(`import ${JSON.stringify(PROCESS_STDIO_URL.href)};`);
    lines.push(
      `import * as msgpack from ${JSON.stringify(options.msgpackUrl ?? "@msgpack/msgpack")};`,
    );
    lines.push(`import { frameCodec } from ${JSON.stringify(FRAMES_URL.href)};`);
    lines.push(
      `import { registerTaskTypes, useFrames } from ${JSON.stringify(RUNTIME_URL.href)};`,
    );
    lines.push(`useFrames(frameCodec(msgpack));`);
  } else {
    lines.push(`import { registerTaskTypes } from ${JSON.stringify(RUNTIME_URL.href)};`);
  }
  names.forEach((_, i) => lines.push(`import * as t${i} from ${JSON.stringify(types[names[i]])};`));
  const modules = names.map((name, i) => `${JSON.stringify(name)}: t${i}`).join(", ");
  lines.push(`registerTaskTypes({ ${modules} }, ${JSON.stringify(types)});`);
  return `data:application/javascript,${encodeURIComponent(lines.join("\n"))}`;
}
