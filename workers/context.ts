/**
 * What a task handler receives. Import these types in your own task modules.
 *
 * @example
 * ```ts
 * import type { TaskContext } from "./workers/context.ts";
 * export default async function (payload: { url: string }, ctx: TaskContext) {
 *   ctx.progress(0.5);
 *   return { ok: !ctx.signal.aborted, url: payload.url };
 * }
 * ```
 *
 * @module
 */

export type { ParentOutcome, TaskContext, TaskHandler } from "../engine/pool/context.ts";
