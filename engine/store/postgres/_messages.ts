/**
 * Private to the PostgreSQL store: the LISTEN/NOTIFY channel between nodes.
 *
 * One channel per schema carries JSON arrays of {@linkcode SharedMessage}s,
 * each payload prefixed with the sender's store `instanceId` and a newline,
 * so a store skips its own payloads without parsing them. Messages published
 * in one event-loop turn share as few NOTIFYs as fit under 8000 bytes; a task
 * event too large for one (or carrying bytes) travels by reference and the
 * receiver fetches the task. The channel listens on a connection of its own
 * and LISTENs again, with backoff, whenever that connection drops.
 *
 * @module
 */

import postgres from "postgres";
import { clearImmediate, setImmediate } from "node:timers";
import { StoreUnavailableError } from "../../model/errors.ts";
import type { Task } from "../../model/task.ts";
import type { UnsafeQueryable } from "./migrations.ts";
import type { SharedMessage, SharedMessageListener } from "../shared_store.ts";
import { describe, isConnectionError, type Row } from "./_rows.ts";

/** NOTIFY payloads must stay under 8000 bytes; keep a margin. */
const MAX_NOTIFY_BYTES = 7900;
/** Sender id (a UUID), newline, and the array brackets. */
const PAYLOAD_OVERHEAD = 36 + 1 + 2;
const MAX_BACKOFF_MS = 5000;

/** What a {@linkcode MessageChannel} needs from its store. */
export interface MessageChannelOptions {
  /** Connection URL (for the listening connection). */
  url: string;
  /** NOTIFY channel name. */
  channel: string;
  /** The store's `instanceId`: the sender id of its payloads. */
  instanceId: string;
  applicationName: string;
  connectTimeoutSeconds: number;
  /** The store's name, for error messages. */
  storeName: string;
  /** Runs a query on the store's pool (so failures count against its health). */
  query<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T>;
  /** Fetches a task an event referred to by id. */
  fetchTask(id: string): Promise<Task | undefined>;
}

/** Publishes and receives {@linkcode SharedMessage}s for one store. */
export class MessageChannel {
  readonly #options: MessageChannelOptions;
  #closed = false;
  #listeners = new Set<SharedMessageListener>();
  #listenSql: postgres.Sql | undefined;
  #listening: Promise<void> | undefined;
  #relistenTimer: ReturnType<typeof setTimeout> | undefined;
  #relistenDelayMs = 250;
  #delivery: Promise<void> = Promise.resolve();
  #outbox: { message: SharedMessage; resolve(): void; reject(error: unknown): void }[] = [];
  #outboxTimer: ReturnType<typeof setImmediate> | undefined;

  constructor(options: MessageChannelOptions) {
    this.#options = options;
  }

  /** Queues `message` for this turn's NOTIFY; resolves once sent. */
  publish(message: SharedMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#outbox.push({ message, resolve, reject });
      this.#outboxTimer ??= setImmediate(() => this.#sendOutbox());
    });
  }

  /** Sends `messages` through `sql` (inside its transaction, if any: delivered at COMMIT). */
  async notifyIn(sql: UnsafeQueryable, messages: SharedMessage[]): Promise<void> {
    const sender = this.#options.instanceId;
    const payloads: string[] = [];
    let current: string[] = [];
    let size = PAYLOAD_OVERHEAD;
    for (const message of messages) {
      const text = encodeMessage(message);
      const bytes = new TextEncoder().encode(text).length + 1;
      if (current.length > 0 && size + bytes > MAX_NOTIFY_BYTES) {
        payloads.push(`${sender}\n[${current.join(",")}]`);
        current = [];
        size = PAYLOAD_OVERHEAD;
      }
      current.push(text);
      size += bytes;
    }
    if (current.length > 0) payloads.push(`${sender}\n[${current.join(",")}]`);
    await sql.unsafe(
      "SELECT pg_notify($1::text, p) FROM unnest($2::text[]) WITH ORDINALITY AS x(p, i) ORDER BY i",
      [this.#options.channel, payloads],
    );
  }

  /** Starts listening (once) and adds `listener`; returns its unsubscribe function. */
  async subscribe(listener: SharedMessageListener): Promise<() => Promise<void>> {
    this.#listeners.add(listener);
    if (this.#listenSql === undefined) {
      this.#listenSql = postgres(this.#options.url, {
        max: 1,
        max_lifetime: null,
        fetch_types: false,
        connect_timeout: this.#options.connectTimeoutSeconds,
        onnotice: () => {},
        connection: { application_name: this.#options.applicationName },
        // postgres.js hands every NOTIFY of the connection to `onnotify`.
        onnotify: (_channel: string, payload: string) => this.#receive(payload),
        onclose: () => this.#scheduleRelisten(0),
      } as postgres.Options<Record<string, postgres.PostgresType>>);
      this.#listening = this.#listen(false);
    }
    try {
      await this.#listening;
    } catch (error) {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) await this.#stopListening();
      throw error;
    }
    return async () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      await this.#stopListening();
    };
  }

  /** Sends what is queued, stops listening, and waits for deliveries under way. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#outboxTimer !== undefined) {
      clearImmediate(this.#outboxTimer);
      await this.#sendOutbox();
    }
    this.#listeners.clear();
    await this.#stopListening();
    await this.#delivery;
  }

  async #sendOutbox(): Promise<void> {
    this.#outboxTimer = undefined;
    const batch = this.#outbox;
    this.#outbox = [];
    if (batch.length === 0) return;
    try {
      await this.#options.query((sql) => this.notifyIn(sql, batch.map((entry) => entry.message)));
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    }
  }

  /** Issues LISTEN; after a reconnect, wakes subscribers (notifications sent meanwhile are lost). */
  async #listen(again: boolean): Promise<void> {
    const sql = this.#listenSql;
    if (sql === undefined) return;
    try {
      await sql.unsafe(`LISTEN "${this.#options.channel}"`);
    } catch (error) {
      if (isConnectionError(error)) {
        throw new StoreUnavailableError(
          `The PostgreSQL store ${this.#options.storeName} cannot listen for messages: ${
            describe(error)
          }.`,
        );
      }
      throw error;
    }
    this.#relistenDelayMs = 250;
    if (again) this.#deliver({ kind: "work", origin: "" });
  }

  /**
   * The listening connection closed (server restart, network): LISTEN again
   * on a new one, with backoff (250 ms doubling to 5 s) until it works.
   * (postgres.js's own `listen()` gives up if the server is still down.)
   */
  #scheduleRelisten(delayMs: number): void {
    if (this.#closed || this.#listenSql === undefined || this.#relistenTimer !== undefined) return;
    this.#relistenTimer = setTimeout(async () => {
      this.#relistenTimer = undefined;
      try {
        await this.#listen(true);
      } catch {
        this.#relistenDelayMs = Math.min(this.#relistenDelayMs * 2, MAX_BACKOFF_MS);
        this.#scheduleRelisten(this.#relistenDelayMs);
      }
    }, delayMs);
  }

  async #stopListening(): Promise<void> {
    const sql = this.#listenSql;
    this.#listenSql = undefined;
    this.#listening = undefined;
    clearTimeout(this.#relistenTimer);
    this.#relistenTimer = undefined;
    await sql?.end({ timeout: 1 }).catch(() => {});
  }

  #receive(payload: string): void {
    const newline = payload.indexOf("\n");
    if (newline < 0 || payload.slice(0, newline) === this.#options.instanceId) return;
    let wire: Row[];
    try {
      wire = JSON.parse(payload.slice(newline + 1));
    } catch {
      return;
    }
    // Delivered in order, even when a by-reference event needs a fetch first.
    this.#delivery = this.#delivery.then(async () => {
      for (const item of wire) {
        const message = await this.#expand(item).catch(() => undefined);
        if (message) this.#deliver(message);
      }
    });
  }

  async #expand(item: Row): Promise<SharedMessage | undefined> {
    const ref = item.ref as { type: string; seq: number; at: number; taskId: string } | undefined;
    if (!ref) return item as unknown as SharedMessage;
    const task = await this.#options.fetchTask(ref.taskId);
    if (!task) return undefined; // pruned meanwhile
    const event = { type: ref.type, seq: ref.seq, at: ref.at, task };
    return { kind: "event", origin: item.origin as string, event } as SharedMessage;
  }

  #deliver(message: SharedMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        console.error("A shared-store message listener threw:", error);
      }
    }
  }
}

/** A task event whose task is small JSON travels whole; otherwise by id, fetched on arrival. */
function encodeMessage(message: SharedMessage): string {
  if (message.kind === "event" && "task" in message.event) {
    const { task, type, seq, at } = message.event;
    const inline = !(task.payload instanceof Uint8Array) && !(task.result instanceof Uint8Array);
    const text = inline ? JSON.stringify(message) : "";
    if (inline && new TextEncoder().encode(text).length < MAX_NOTIFY_BYTES - PAYLOAD_OVERHEAD - 1) {
      return text;
    }
    return JSON.stringify({
      kind: "event",
      origin: message.origin,
      ref: { type, seq, at, taskId: task.id },
    });
  }
  return JSON.stringify(message);
}
