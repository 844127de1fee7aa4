/**
 * Message frames between the pool and a worker process: each message is
 * MessagePack, preceded by its length as a 4-byte big-endian integer. Both
 * ends use these classes; frames written in one turn go out as one write,
 * so a batch of jobs costs one system call, not one per message.
 *
 * The MessagePack module (`@msgpack/msgpack`) is passed in, not imported:
 * a worker process loads it from its file in Deno's cache, which starts
 * about 150 ms sooner than resolving the npm package.
 *
 * @module
 */

/** What frames use of `@msgpack/msgpack`: `import * as msgpack from "@msgpack/msgpack"`. */
export interface MessagePack {
  Encoder: new (options: { ignoreUndefined: boolean }) => {
    encodeSharedRef(value: unknown): Uint8Array;
  };
  Decoder: new () => { decode(bytes: Uint8Array): unknown };
}

/** Largest frame either side accepts (a payload is at most 1 GiB; this leaves room). */
const MAX_FRAME_BYTES = 0x7fff_ffff;

/**
 * Turns messages into frames. `encode` throws what MessagePack throws for a
 * value it cannot write (a function, a symbol), before anything is queued.
 *
 * @example
 * ```ts
 * import * as msgpack from "@msgpack/msgpack";
 * import { FrameDecoder, FrameEncoder } from "./engine/pool/frames.ts";
 * const bytes = new FrameEncoder(msgpack).encode({ kind: "run", jobs: [] });
 * new FrameDecoder(msgpack).push(bytes); // [{ kind: "run", jobs: [] }]
 * ```
 */
export class FrameEncoder {
  #encoder: { encodeSharedRef(value: unknown): Uint8Array };

  constructor(msgpack: MessagePack) {
    this.#encoder = new msgpack.Encoder({ ignoreUndefined: false });
  }

  /** One frame holding `message`. */
  encode(message: unknown): Uint8Array {
    const body = this.#encoder.encodeSharedRef(message);
    const frame = new Uint8Array(4 + body.byteLength);
    new DataView(frame.buffer).setUint32(0, body.byteLength);
    frame.set(body, 4);
    return frame;
  }
}

/**
 * What the worker runtime needs to speak frames inside a worker process
 * (its `FrameCodec`).
 *
 * @example
 * ```ts
 * import * as msgpack from "@msgpack/msgpack";
 * import { frameCodec } from "./engine/pool/frames.ts";
 * const codec = frameCodec(msgpack);
 * codec.decode(codec.encode({ kind: "ready" }).subarray(4)); // { kind: "ready" }
 * ```
 */
export function frameCodec(msgpack: MessagePack): {
  encode(message: unknown): Uint8Array;
  decode(body: Uint8Array): unknown;
} {
  const encoder = new FrameEncoder(msgpack);
  const decoder = new msgpack.Decoder();
  return { encode: (message) => encoder.encode(message), decode: (body) => decoder.decode(body) };
}

/**
 * Reads frames out of a byte stream cut anywhere.
 *
 * @example
 * ```ts
 * import * as msgpack from "@msgpack/msgpack";
 * import { FrameDecoder, FrameEncoder } from "./engine/pool/frames.ts";
 * const frame = new FrameEncoder(msgpack).encode("hi");
 * const decoder = new FrameDecoder(msgpack);
 * decoder.push(frame.subarray(0, 3)); // []
 * decoder.push(frame.subarray(3)); // ["hi"]
 * ```
 */
export class FrameDecoder {
  #decoder: { decode(bytes: Uint8Array): unknown };
  #buffer = new Uint8Array(0);

  constructor(msgpack: MessagePack) {
    this.#decoder = new msgpack.Decoder();
  }

  /** Adds `chunk`; returns the messages it completes, in order. Throws on a malformed frame. */
  push(chunk: Uint8Array): unknown[] {
    return this.bodies(chunk).map((body) => this.#decoder.decode(body));
  }

  /** Decodes one body that {@linkcode FrameDecoder.bodies} returned. */
  decode(body: Uint8Array): unknown {
    return this.#decoder.decode(body);
  }

  /**
   * Adds `chunk`; returns the MessagePack bodies of the frames it completes,
   * undecoded, each in a buffer of its own (to move to another thread).
   */
  bodies(chunk: Uint8Array): Uint8Array[] {
    let bytes = chunk;
    if (this.#buffer.byteLength > 0) {
      bytes = new Uint8Array(this.#buffer.byteLength + chunk.byteLength);
      bytes.set(this.#buffer);
      bytes.set(chunk, this.#buffer.byteLength);
    }
    const bodies: Uint8Array[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 0;
    while (bytes.byteLength - at >= 4) {
      const length = view.getUint32(at);
      if (length > MAX_FRAME_BYTES) throw new Error(`A frame of ${length} bytes is too long.`);
      if (bytes.byteLength - at - 4 < length) break;
      bodies.push(bytes.slice(at + 4, at + 4 + length));
      at += 4 + length;
    }
    // Keep the unfinished frame (copied: the chunk's buffer may be reused by the reader).
    this.#buffer = at === bytes.byteLength ? new Uint8Array(0) : bytes.slice(at);
    return bodies;
  }
}

/**
 * Collects frames written during one turn and writes them together, in
 * order, to `writer`. Write errors (the other side is gone) go to `failed`.
 */
export class FrameWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #scheduled = false;
  #closed = false;
  #failed: (error: unknown) => void;

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>, failed: (error: unknown) => void) {
    this.#writer = writer;
    this.#failed = failed;
  }

  /** Queues a frame for the end of this turn. */
  write(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(frame);
    this.#queued += frame.byteLength;
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /** Stops writing; queued frames are dropped. */
  close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#writer.close().catch(() => {});
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#closed || this.#queue.length === 0) return;
    let bytes: Uint8Array;
    if (this.#queue.length === 1) bytes = this.#queue[0];
    else {
      bytes = new Uint8Array(this.#queued);
      let at = 0;
      for (const frame of this.#queue) {
        bytes.set(frame, at);
        at += frame.byteLength;
      }
    }
    this.#queue = [];
    this.#queued = 0;
    this.#writer.write(bytes).catch((error) => {
      if (!this.#closed) this.#failed(error);
    });
  }
}
