/**
 * A small WebSocket test client that speaks JSON or MessagePack and lets a
 * test wait for the next message matching a predicate.
 *
 * @module
 */

import { decode, encode } from "@msgpack/msgpack";

/** A message from the server. */
export type ServerMessage = Record<string, unknown> & { type: string };

/** A connected test client. */
export class TestClient {
  readonly socket: WebSocket;
  readonly encoding: "json" | "msgpack";
  readonly received: ServerMessage[] = [];
  /** Frames received; a batch frame (`?batch=1`) counts once and its messages each land in `received`. */
  frames = 0;
  /** Batch frames received. */
  batches = 0;
  #waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  /** Messages already handed to a `next` caller. */
  #consumed = new Set<ServerMessage>();
  readonly closed: Promise<CloseEvent>;

  private constructor(socket: WebSocket, encoding: "json" | "msgpack") {
    this.socket = socket;
    this.encoding = encoding;
    socket.binaryType = "arraybuffer";
    const closed = Promise.withResolvers<CloseEvent>();
    this.closed = closed.promise;
    socket.onclose = (event) => closed.resolve(event);
    socket.onmessage = (event) => {
      const frame =
        (typeof event.data === "string"
          ? JSON.parse(event.data)
          : decode(new Uint8Array(event.data))) as ServerMessage;
      this.frames++;
      if (frame.type === "batch") {
        this.batches++;
        for (const message of frame.messages as ServerMessage[]) this.#receive(message);
      } else {
        this.#receive(frame);
      }
    };
  }

  #receive(message: ServerMessage): void {
    this.received.push(message);
    const waiter = this.#waiters.find((w) => w.match(message));
    if (waiter) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      this.#consumed.add(message);
      waiter.resolve(message);
    }
  }

  /** Connects and waits for `hello`. */
  static async connect(
    url: string,
    options: { encoding?: "json" | "msgpack"; protocols?: string[] } = {},
  ): Promise<TestClient> {
    const socket = new WebSocket(url, options.protocols);
    const client = new TestClient(socket, options.encoding ?? "json");
    const opened = Promise.withResolvers<void>();
    socket.onopen = () => opened.resolve();
    socket.onerror = () => opened.reject(new Error(`Could not connect to ${url}.`));
    await opened.promise;
    await client.next((m) => m.type === "hello");
    return client;
  }

  /** Sends a message in the client's encoding. */
  send(message: Record<string, unknown>): void {
    this.socket.send(this.encoding === "json" ? JSON.stringify(message) : encode(message));
  }

  /** The oldest message not yet handed out that matches, waiting for it if needed. */
  next(match: (m: ServerMessage) => boolean, timeoutMs = 15_000): Promise<ServerMessage> {
    for (const message of this.received) {
      if (!this.#consumed.has(message) && match(message)) {
        this.#consumed.add(message);
        return Promise.resolve(message);
      }
    }
    const { promise, resolve, reject } = Promise.withResolvers<ServerMessage>();
    const timer = setTimeout(() => {
      this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
      reject(new Error(`No matching message within ${timeoutMs} ms.`));
    }, timeoutMs);
    const done = (message: ServerMessage) => {
      clearTimeout(timer);
      resolve(message);
    };
    this.#waiters.push({ match, resolve: done });
    return promise;
  }

  /** Closes and waits for the close to finish. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }
}
