/**
 * JSON form of tasks: byte payloads and results become `{ "$bytes": "<base64>" }`,
 * since JSON has no bytes. MessagePack frames carry bytes as they are.
 *
 * @module
 */

import type { Task, ThreadFlowEvent } from "../engine/mod.ts";

/** How bytes appear in JSON answers and text WebSocket frames. */
export interface JsonBytes {
  $bytes: string;
}

/**
 * Encodes bytes as standard base64.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "./task_json.ts";
 * encodeBase64(new Uint8Array([1, 2, 3])); // "AQID"
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/**
 * The task with byte payload or result replaced by {@linkcode JsonBytes};
 * the same object when there are none.
 *
 * @example
 * ```ts ignore
 * const json = JSON.stringify({ task: taskToJson(task) });
 * ```
 */
export function taskToJson(task: Task): Task {
  const payloadIsBytes = task.payload instanceof Uint8Array;
  const resultIsBytes = task.result instanceof Uint8Array;
  if (!payloadIsBytes && !resultIsBytes) return task;
  return {
    ...task,
    payload: payloadIsBytes ? { $bytes: encodeBase64(task.payload as Uint8Array) } : task.payload,
    result: resultIsBytes ? { $bytes: encodeBase64(task.result as Uint8Array) } : task.result,
  };
}

/**
 * An engine event ready for `JSON.stringify` (bytes as {@linkcode JsonBytes}).
 *
 * @example
 * ```ts ignore
 * engine.on((event) => socket.send(JSON.stringify(eventToJson(event))));
 * ```
 */
export function eventToJson(event: ThreadFlowEvent): ThreadFlowEvent {
  if (!("task" in event)) return event;
  const task = taskToJson(event.task);
  return task === event.task ? event : { ...event, task };
}
