/**
 * WebSocket frame encoding: text frames carry JSON, binary frames carry the
 * same messages as MessagePack (bytes stay bytes).
 *
 * @module
 */

import { decode, encode } from "@msgpack/msgpack";
import { taskToJson } from "./task_json.ts";
import type { Task } from "../engine/mod.ts";

/** Which frame kind a client uses. */
export type FrameEncoding = "json" | "msgpack";

/** A decoded client message: an object with a string `type`. */
export interface ClientMessage {
  type: string;
  [key: string]: unknown;
}

/** Why a frame could not be read. */
export class MalformedFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedFrameError";
  }
}

/**
 * Decodes a client frame; throws {@linkcode MalformedFrameError} with a
 * sentence saying what was wrong.
 *
 * @example
 * ```ts
 * import { decodeFrame } from "./ws_codec.ts";
 * decodeFrame('{"type":"ping","ref":1}').type; // "ping"
 * ```
 */
export function decodeFrame(data: string | ArrayBuffer | Uint8Array): ClientMessage {
  let value: unknown;
  if (typeof data === "string") {
    try {
      value = JSON.parse(data);
    } catch {
      throw new MalformedFrameError("A text frame must hold one JSON object.");
    }
  } else {
    try {
      value = decode(data instanceof Uint8Array ? data : new Uint8Array(data));
    } catch {
      throw new MalformedFrameError("A binary frame must hold one MessagePack map.");
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MalformedFrameError("A message must be an object with a string type field.");
  }
  const type = (value as Record<string, unknown>).type;
  if (typeof type !== "string") {
    throw new MalformedFrameError(
      `A message must have a string type field: received ${JSON.stringify(type) ?? "nothing"}.`,
    );
  }
  return value as ClientMessage;
}

/**
 * Encodes a server message for the given frame kind.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./ws_codec.ts";
 * encodeMessage({ type: "pong", ref: 1, time: 0 }, "json"); // '{"type":"pong","ref":1,"time":0}'
 * ```
 */
export function encodeMessage(
  message: Record<string, unknown>,
  encoding: FrameEncoding,
): string | Uint8Array {
  if (encoding === "json") return JSON.stringify(message);
  try {
    return encode(message);
  } catch (error) {
    // Bytes handed to a worker are transferred (detached); send the task without them.
    const task = message.task as Task | undefined;
    if (task === undefined) throw error;
    return encode({ ...message, task: withoutDetachedBytes(task) });
  }
}

function isDetached(value: unknown): boolean {
  return value instanceof Uint8Array && value.buffer.byteLength === 0 && value.byteLength === 0;
}

/** The task with transferred (detached) byte fields set to `null`. */
function withoutDetachedBytes(task: Task): Task {
  return {
    ...task,
    payload: isDetached(task.payload) ? null : task.payload,
    result: isDetached(task.result) ? null : task.result,
  };
}

/**
 * A task ready to send in the given frame kind (bytes as `$bytes` base64 in JSON).
 *
 * @example
 * ```ts ignore
 * connection.send({ type: "ack", ref, task: taskForFrame(task, "json") });
 * ```
 */
export function taskForFrame(task: Task, encoding: FrameEncoding): Task {
  return encoding === "json" ? taskToJson(task) : task;
}
