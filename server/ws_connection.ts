/**
 * One WebSocket client of `/ws`: its messages, its subscription and its
 * outbox. The hub (server/ws.ts) accepts connections and fans events out.
 *
 * @module
 */

import {
  type SubmitInput,
  TASK_STATUSES,
  type TaskStatus,
  type ThreadFlowEvent,
} from "../engine/mod.ts";
import type { ServiceEngine } from "./engine_port.ts";
import type { Logger } from "./logger.ts";
import { errorAnswer, type ErrorDetail } from "./errors.ts";
import { isPlainSubmitInput, SubmitInputSchema } from "./schemas.ts";
import { validationError } from "./validation.ts";
import {
  type ClientMessage,
  decodeFrame,
  encodeMessage,
  type FrameEncoding,
  MalformedFrameError,
  taskForFrame,
} from "./ws_codec.ts";
import { Outbox, type OutboxOptions } from "./ws_outbox.ts";
import { SubmitBatcher } from "./ws_submit_batch.ts";

/** What a connection needs from the hub that owns it. */
export interface ConnectionHost {
  readonly engine: ServiceEngine;
  readonly logger: Logger;
  /** `seq` of the newest event seen. */
  latestSeq(): number;
  /** Sends the events after `since` to the connection; `false` when the ring no longer has them. */
  replay(connection: Connection, since: number): boolean;
  countMalformed(): void;
  countSlowClose(): void;
}

/** Per-connection limits. */
export interface ConnectionOptions {
  /** Malformed messages tolerated before closing with 1008. Default 20. */
  maxMalformed?: number;
  /** Largest client message in bytes. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Slow-consumer limits. */
  outbox?: OutboxOptions;
}

/** Which events a subscription wants. */
interface EventFilter {
  taskIds?: Set<string>;
  types?: Set<string>;
  statuses?: Set<TaskStatus>;
}

interface Subscription {
  filter: EventFilter;
  statsTimer: ReturnType<typeof setInterval> | undefined;
}

/**
 * A client message that fails validation: answered with an `error`. Only
 * protocol violations (an unknown message type) count against the malformed
 * budget; a well-formed submit with a bad field is an ordinary refusal.
 */
class BadMessageError extends Error {
  readonly field?: string;
  readonly protocolViolation: boolean;
  constructor(message: string, field?: string, protocolViolation = false) {
    super(message);
    this.field = field;
    this.protocolViolation = protocolViolation;
  }
}

const MIN_STATS_INTERVAL_MS = 250;
/** Longest stats interval: one hour (timers past 2^31-1 ms would fire at once). */
const MAX_STATS_INTERVAL_MS = 3_600_000;
const DEFAULT_STATS_INTERVAL_MS = 1000;

/**
 * One client connection: decodes its messages, answers them, and filters
 * engine events for it.
 *
 * @example
 * ```ts ignore
 * const connection = new Connection(host, socket, "json", {});
 * socket.onmessage = (event) => connection.receive(event.data);
 * ```
 */
export class Connection {
  readonly #hub: ConnectionHost;
  readonly #socket: WebSocket;
  readonly #maxMalformed: number;
  readonly #maxMessageBytes: number;
  readonly outbox: Outbox;
  readonly #submits: SubmitBatcher;
  encoding: FrameEncoding;
  #subscription: Subscription | undefined;
  #malformed = 0;
  #closed = false;

  constructor(
    hub: ConnectionHost,
    socket: WebSocket,
    encoding: FrameEncoding,
    options: ConnectionOptions,
  ) {
    this.#hub = hub;
    this.#socket = socket;
    this.encoding = encoding;
    this.#maxMalformed = options.maxMalformed ?? 20;
    this.#maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
    this.outbox = new Outbox(socket, options.outbox, () => {
      hub.countSlowClose();
      hub.logger.warn("Closed a WebSocket client that read too slowly (1013).");
      this.dispose();
    });
    this.#submits = new SubmitBatcher(hub.engine, {
      admitted: (submit, task) =>
        this.#ack(
          submit.ref,
          submit.bytes === undefined ? task : { ...task, payload: submit.bytes },
        ),
      refused: (submit, error) => this.#answerError(submit.ref, error),
    });
  }

  /** Whether the subscription wants this event. */
  wants(event: ThreadFlowEvent): boolean {
    const subscription = this.#subscription;
    if (subscription === undefined) return false;
    const { taskIds, types, statuses } = subscription.filter;
    if ("control" in event) {
      // A type paused, resumed or limited: for whoever follows that type.
      return taskIds === undefined && statuses === undefined &&
        (types === undefined || types.has(event.control.type));
    }
    if ("schedule" in event) {
      // A schedule changed or fired: for whoever follows the type of task it submits.
      return taskIds === undefined && statuses === undefined &&
        (types === undefined || types.has(event.schedule.task.type));
    }
    if (!("task" in event)) {
      return taskIds === undefined && types === undefined && statuses === undefined;
    }
    const task = event.task;
    if (taskIds !== undefined && !taskIds.has(task.id)) return false;
    if (types !== undefined && !types.has(task.type)) return false;
    if (statuses !== undefined && !statuses.has(task.status)) return false;
    return true;
  }

  /** Sends a message in the connection's frame kind. */
  send(message: Record<string, unknown>): void {
    this.outbox.push(encodeMessage(message, this.encoding));
  }

  close(code: number, reason: string): void {
    this.dispose();
    try {
      this.#socket.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopSubscription();
    this.outbox.dispose();
  }

  receive(data: unknown): void {
    if (this.#closed) return;
    let message: ClientMessage;
    try {
      if (typeof data === "string") {
        this.encoding = "json";
        if (data.length > this.#maxMessageBytes) throw this.#tooLarge();
        message = decodeFrame(data);
      } else if (data instanceof ArrayBuffer || data instanceof Uint8Array) {
        this.encoding = "msgpack";
        if (data.byteLength > this.#maxMessageBytes) throw this.#tooLarge();
        message = decodeFrame(data);
      } else {
        throw new MalformedFrameError("Frames must be text (JSON) or binary (MessagePack).");
      }
    } catch (error) {
      this.#reject(undefined, error);
      return;
    }
    const ref = message.ref;
    // Submits wait for the end of their burst; anything else goes after those before it.
    if (message.type !== "submit") this.#submits.flush();
    try {
      this.#dispatch(message);
    } catch (error) {
      this.#reject(ref, error);
    }
  }

  #tooLarge(): MalformedFrameError {
    return new MalformedFrameError(
      `A message must be at most ${this.#maxMessageBytes} bytes.`,
    );
  }

  #dispatch(message: ClientMessage): void {
    const ref = message.ref;
    switch (message.type) {
      case "ping":
        this.send({ type: "pong", ref, time: Date.now() });
        return;
      case "subscribe":
        this.#subscribe(message);
        return;
      case "unsubscribe":
        this.#stopSubscription();
        this.send({ type: "unsubscribed", ref });
        return;
      case "submit":
        this.#submit(message);
        return;
      case "cancel":
        this.#cancel(message);
        return;
      default:
        throw new BadMessageError(
          `Unknown message type ${JSON.stringify(message.type)}; expected subscribe, ` +
            "unsubscribe, submit, cancel or ping.",
          "type",
          true,
        );
    }
  }

  #subscribe(message: ClientMessage): void {
    const filter = readFilter(message.filter);
    const since = message.since;
    if (
      since !== undefined && (typeof since !== "number" || !Number.isInteger(since) || since < 0)
    ) {
      throw new BadMessageError(
        `since must be a non-negative integer seq: received ${JSON.stringify(since)}.`,
        "since",
      );
    }
    const statsInterval = readStatsInterval(message.stats);
    this.#stopSubscription();
    const subscription: Subscription = { filter, statsTimer: undefined };
    this.#subscription = subscription;
    this.send({ type: "subscribed", ref: message.ref, seq: this.#hub.latestSeq() });
    if (since !== undefined && !this.#hub.replay(this, since)) {
      this.send({ type: "resync", seq: this.#hub.latestSeq() });
    }
    if (statsInterval !== undefined) {
      subscription.statsTimer = setInterval(() => this.#sendStats(), statsInterval);
      this.#sendStats();
    }
  }

  #sendStats(): void {
    this.#hub.engine.stats().then(
      (stats) => {
        if (!this.#closed) this.send({ type: "stats", stats });
      },
      (error) => this.#hub.logger.warn("Could not read stats for a WebSocket client.", { error }),
    );
  }

  #stopSubscription(): void {
    if (this.#subscription?.statsTimer !== undefined) {
      clearInterval(this.#subscription.statsTimer);
    }
    this.#subscription = undefined;
  }

  #submit(message: ClientMessage): void {
    const ref = message.ref;
    let input: SubmitInput;
    if (isPlainSubmitInput(message.task)) {
      input = { ...(message.task as SubmitInput) };
    } else {
      const parsed = SubmitInputSchema.safeParse(message.task);
      if (!parsed.success) {
        const error = validationError(parsed.error, "task");
        const field = error.field === "task" ? "task" : `task.${error.field}`;
        throw new BadMessageError(error.message, field);
      }
      input = parsed.data as SubmitInput;
    }
    // Byte payloads are transferred to a worker, emptying the array the answer shares.
    const bytes = input.payload instanceof Uint8Array ? input.payload : undefined;
    if (bytes !== undefined) input.payload = bytes.slice();
    this.#submits.add({ ref, input, bytes });
  }

  #cancel(message: ClientMessage): void {
    const ref = message.ref;
    if (typeof message.id !== "string" || message.id === "") {
      throw new BadMessageError(
        `cancel needs the task id as a string: received ${JSON.stringify(message.id)}.`,
        "id",
      );
    }
    this.#hub.engine.cancel(message.id).then(
      (task) => this.#ack(ref, task),
      (error) => this.#answerError(ref, error),
    );
  }

  #ack(ref: unknown, task: Parameters<typeof taskForFrame>[0]): void {
    if (this.#closed) return;
    this.send({ type: "ack", ref, task: taskForFrame(task, this.encoding) });
  }

  /** An engine refusal (unknown type, queue full, …): answered, not counted as malformed. */
  #answerError(ref: unknown, error: unknown): void {
    if (this.#closed) return;
    const answer = errorAnswer(error);
    if (answer.status >= 500 && answer.body.error.code === "internal_error") {
      this.#hub.logger.error("A WebSocket request failed.", { error });
    }
    this.send({ type: "error", ref, error: answer.body.error });
  }

  /**
   * A malformed or invalid message: answered with an error. Malformed frames
   * and unknown types count against the budget.
   */
  #reject(ref: unknown, error: unknown): void {
    let detail: ErrorDetail;
    let counts = false;
    if (error instanceof MalformedFrameError) {
      detail = { code: "malformed_message", message: error.message };
      counts = true;
    } else if (error instanceof BadMessageError) {
      detail = error.field === undefined
        ? { code: "invalid_message", message: error.message }
        : { code: "invalid_message", message: error.message, field: error.field };
      counts = error.protocolViolation;
    } else {
      detail = errorAnswer(error).body.error;
    }
    this.send({ type: "error", ref, error: detail });
    if (!counts) return;
    this.#hub.countMalformed();
    this.#malformed++;
    if (this.#malformed > this.#maxMalformed) {
      this.close(1008, `Too many malformed messages (more than ${this.#maxMalformed}).`);
    }
  }
}

function readStringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw new BadMessageError(`filter.${field} must be an array of strings.`, `filter.${field}`);
  }
  return value as string[];
}

function readFilter(value: unknown): EventFilter {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new BadMessageError(
      "filter must be an object with taskIds, types and/or statuses.",
      "filter",
    );
  }
  const raw = value as Record<string, unknown>;
  const taskIds = readStringList(raw.taskIds, "taskIds");
  const types = readStringList(raw.types, "types");
  const statuses = readStringList(raw.statuses, "statuses");
  for (const status of statuses ?? []) {
    if (!TASK_STATUSES.includes(status as TaskStatus)) {
      throw new BadMessageError(
        `filter.statuses must hold task statuses (${TASK_STATUSES.join(", ")}): received ${
          JSON.stringify(status)
        }.`,
        "filter.statuses",
      );
    }
  }
  return {
    taskIds: taskIds && new Set(taskIds),
    types: types && new Set(types),
    statuses: statuses && new Set(statuses as TaskStatus[]),
  };
}

function readStatsInterval(value: unknown): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return DEFAULT_STATS_INTERVAL_MS;
  const interval = typeof value === "object" && value !== null
    ? (value as Record<string, unknown>).intervalMs
    : undefined;
  if (
    typeof interval !== "number" || !Number.isInteger(interval) ||
    interval < MIN_STATS_INTERVAL_MS || interval > MAX_STATS_INTERVAL_MS
  ) {
    throw new BadMessageError(
      `stats must be true or { intervalMs } with an integer from ${MIN_STATS_INTERVAL_MS} to ${MAX_STATS_INTERVAL_MS}.`,
      "stats",
    );
  }
  return interval;
}
