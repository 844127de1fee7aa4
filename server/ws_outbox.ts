/**
 * The outgoing side of one WebSocket, with slow-consumer handling.
 *
 * While the socket's `bufferedAmount` is above a high-water mark the client
 * is "slow": frames are held here instead of in the socket, progress frames
 * of one task are coalesced (the latest wins), and every other frame
 * (terminal events above all) is kept in order. As the client reads and the
 * buffer falls below the low-water mark, held frames are sent again, up to
 * the high-water mark. A client that reads nothing for `stuckMs`, or makes
 * us hold more than `maxHeld` frames, is closed with 1013 so it cannot grow
 * the server's memory without bound. A client that reads slowly but steadily
 * is not stuck: it gets everything, later.
 *
 * With `batch` (the client connected with `?batch=1`), the frames of one
 * turn of the event loop go out as one batch frame, `{ type: "batch",
 * messages: [...] }`: one write instead of one per message, which is most of
 * what a message costs on a fast connection. A turn with one message sends
 * it alone. A slow client's frames are held one by one, as without `batch`.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";

/** The parts of a WebSocket the outbox uses (a fake in tests). */
export interface OutboxSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** Limits of {@linkcode Outbox}. */
export interface OutboxOptions {
  /** Above this many buffered bytes the client counts as slow. Default 1 MiB. */
  highWaterBytes?: number;
  /** Held frames are sent again once the buffer is below this. Default 256 KiB. */
  lowWaterBytes?: number;
  /** A slow client that reads nothing for this long is closed with 1013. Default 15,000 ms. */
  stuckMs?: number;
  /** A client that makes us hold more frames than this is closed with 1013. Default 100,000. */
  maxHeld?: number;
  /** How often a slow client's buffer is checked. Default 25 ms. */
  checkMs?: number;
  /** Send the frames of one event-loop turn as one batch frame. Default `false`. */
  batch?: boolean;
}

/** A batch frame is sent once it holds this many messages, even within a turn. */
const MAX_BATCH_MESSAGES = 1024;
/** ... or this many bytes (UTF-16 units for text). */
const MAX_BATCH_BYTES = 256 * 1024;

/** What kind of frame is pushed: progress frames may be coalesced. */
export type FrameKind = "progress" | "other";

interface HeldFrame {
  order: number;
  frame: string | Uint8Array;
  /** Set for progress frames: the task whose latest progress this is. */
  progressOf?: string;
}

const OPEN = 1;

/**
 * Sends frames to one socket, holding and coalescing them while it is slow.
 *
 * @example
 * ```ts ignore
 * const outbox = new Outbox(socket, { stuckMs: 10_000 });
 * outbox.push(JSON.stringify(event), "progress", event.task.id);
 * ```
 */
export class Outbox {
  readonly #socket: OutboxSocket;
  readonly #high: number;
  readonly #low: number;
  readonly #stuckMs: number;
  readonly #maxHeld: number;
  readonly #checkMs: number;
  readonly #onStuck: () => void;
  #held: HeldFrame[] = [];
  /** Latest progress frame per task id while slow. */
  #progress = new Map<string, HeldFrame>();
  #order = 0;
  #slow = false;
  /** When the client last read something while slow. */
  #lastProgressAt = 0;
  #lastBuffered = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #batch: boolean;
  /** The turn's frames not sent yet (with `batch`), all text or all binary. */
  #pending: Array<{ frame: string | Uint8Array; kind: FrameKind; taskId?: string }> = [];
  #pendingBytes = 0;
  #flushTimer: ReturnType<typeof setImmediate> | undefined;
  /** Progress frames replaced by a newer one (for tests and metrics). */
  coalesced = 0;

  constructor(socket: OutboxSocket, options: OutboxOptions = {}, onStuck: () => void = () => {}) {
    this.#socket = socket;
    this.#high = options.highWaterBytes ?? 1024 * 1024;
    this.#low = options.lowWaterBytes ?? Math.min(256 * 1024, this.#high);
    this.#stuckMs = options.stuckMs ?? 15_000;
    this.#maxHeld = options.maxHeld ?? 100_000;
    this.#checkMs = options.checkMs ?? 25;
    this.#batch = options.batch ?? false;
    this.#onStuck = onStuck;
  }

  /** Whether frames are being held for a slow client. */
  get slow(): boolean {
    return this.#slow;
  }

  /** Frames held now. */
  get held(): number {
    return this.#held.length + this.#progress.size;
  }

  /**
   * Sends a frame, or holds it while the client is slow. `taskId` names the
   * task a frame is about: a progress frame replaces the held progress of the
   * same task, and any later frame of that task drops it (it is stale).
   */
  push(frame: string | Uint8Array, kind: FrameKind = "other", taskId?: string): void {
    if (this.#closed || this.#socket.readyState !== OPEN) return;
    if (this.#batch && !this.#slow) {
      this.#addToBatch(frame, kind, taskId);
      return;
    }
    this.#pushNow(frame, kind, taskId);
  }

  /** Sends the frames gathered for a batch (with `batch`; at the end of the turn on its own). */
  flush(): void {
    if (this.#flushTimer !== undefined) {
      clearImmediate(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#closed || this.#socket.readyState !== OPEN) return;
    if (pending.length === 1 || this.#slow || this.#socket.bufferedAmount > this.#high) {
      // Alone, or for a client that is slow now: frame by frame, so progress can coalesce.
      for (const { frame, kind, taskId } of pending) this.#pushNow(frame, kind, taskId);
      return;
    }
    this.#socket.send(batchFrame(pending.map((item) => item.frame)));
  }

  #addToBatch(frame: string | Uint8Array, kind: FrameKind, taskId?: string): void {
    const pending = this.#pending;
    // A client that switches between text and binary gets each run in its own kind.
    if (pending.length > 0 && typeof pending[0].frame !== typeof frame) this.flush();
    this.#pending.push({ frame, kind, taskId });
    this.#pendingBytes += typeof frame === "string" ? frame.length : frame.byteLength;
    if (
      this.#pending.length >= MAX_BATCH_MESSAGES || this.#pendingBytes >= MAX_BATCH_BYTES
    ) {
      this.flush();
    } else {
      this.#flushTimer ??= setImmediate(() => {
        this.#flushTimer = undefined;
        this.flush();
      });
    }
  }

  #pushNow(frame: string | Uint8Array, kind: FrameKind, taskId?: string): void {
    if (!this.#slow) {
      if (this.#socket.bufferedAmount <= this.#high) {
        this.#socket.send(frame);
        return;
      }
      this.#enterSlow();
    }
    if (kind === "progress" && taskId !== undefined) {
      if (this.#progress.has(taskId)) this.coalesced++;
      this.#progress.set(taskId, { order: this.#order++, frame, progressOf: taskId });
    } else {
      if (taskId !== undefined) this.#progress.delete(taskId);
      this.#held.push({ order: this.#order++, frame });
    }
    if (this.held > this.#maxHeld) this.#stuck();
  }

  /**
   * Sends held frames as the buffer drains; closes a client that read
   * nothing for `stuckMs`. Runs on a timer while slow.
   */
  check(now = Date.now()): void {
    if (!this.#slow || this.#closed) return;
    if (this.#socket.readyState !== OPEN) {
      this.dispose();
      return;
    }
    const buffered = this.#socket.bufferedAmount;
    if (buffered < this.#lastBuffered) this.#lastProgressAt = now;
    this.#lastBuffered = buffered;
    if (buffered <= this.#low) {
      this.#lastProgressAt = now;
      this.#sendHeld();
      this.#lastBuffered = this.#socket.bufferedAmount;
      return;
    }
    if (now - this.#lastProgressAt > this.#stuckMs) this.#stuck();
  }

  /** Stops the timer and drops held frames (the socket is closing). */
  dispose(): void {
    // What the turn said before the socket closes (an error, then a close) still goes.
    if (!this.#closed && !this.#slow && this.#pending.length > 0) this.flush();
    this.#closed = true;
    if (this.#flushTimer !== undefined) clearImmediate(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#pending = [];
    this.#leaveSlow();
    this.#held = [];
    this.#progress.clear();
  }

  #enterSlow(): void {
    this.#slow = true;
    this.#lastProgressAt = Date.now();
    this.#lastBuffered = this.#socket.bufferedAmount;
    this.#timer = setInterval(() => this.check(), this.#checkMs);
  }

  #leaveSlow(): void {
    this.#slow = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sends held frames in order until the buffer is full again; leaves slow mode when all went. */
  #sendHeld(): void {
    let frames = this.#held;
    if (this.#progress.size > 0) {
      frames = frames.concat([...this.#progress.values()]);
      frames.sort((a, b) => a.order - b.order);
      this.#progress.clear();
    }
    let sent = 0;
    while (sent < frames.length && this.#socket.bufferedAmount <= this.#high) {
      this.#socket.send(frames[sent].frame);
      sent++;
    }
    const rest = frames.slice(sent);
    this.#held = [];
    for (const held of rest) {
      if (held.progressOf !== undefined) this.#progress.set(held.progressOf, held);
      else this.#held.push(held);
    }
    if (this.held === 0) this.#leaveSlow();
  }

  #stuck(): void {
    this.dispose();
    this.#onStuck();
    try {
      this.#socket.close(1013, "The client read too slowly; reconnect and subscribe with since.");
    } catch {
      // Already closing.
    }
  }
}

/** `{"type":"batch","messages":[...]}` made of already-encoded messages, without decoding them. */
function batchFrame(frames: Array<string | Uint8Array>): string | Uint8Array {
  if (typeof frames[0] === "string") {
    return `{"type":"batch","messages":[${frames.join(",")}]}`;
  }
  // MessagePack: a map of two entries whose "messages" is an array of the encoded messages as
  // they are (array 32 header, then the elements back to back).
  let length = BATCH_MSGPACK_HEAD.byteLength + 5;
  for (const frame of frames) length += (frame as Uint8Array).byteLength;
  const out = new Uint8Array(length);
  out.set(BATCH_MSGPACK_HEAD);
  let at = BATCH_MSGPACK_HEAD.byteLength;
  out[at] = 0xdd;
  new DataView(out.buffer).setUint32(at + 1, frames.length);
  at += 5;
  for (const frame of frames) {
    out.set(frame as Uint8Array, at);
    at += (frame as Uint8Array).byteLength;
  }
  return out;
}

/** MessagePack of `{ type: "batch", messages: ` up to the array: fixmap 2, then the strings. */
const BATCH_MSGPACK_HEAD = new Uint8Array([
  0x82,
  0xa4,
  ...new TextEncoder().encode("type"),
  0xa5,
  ...new TextEncoder().encode("batch"),
  0xa8,
  ...new TextEncoder().encode("messages"),
]);
