/**
 * A raw WebSocket client over TCP that reads only when told to: a real slow
 * consumer for tests.
 *
 * @module
 */

/** A WebSocket connection whose reads the test controls. */
export class RawWebSocket {
  readonly conn: Deno.TcpConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects and completes the opening handshake. */
  static async connect(port: number, path = "/ws"): Promise<RawWebSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const raw = new RawWebSocket(conn);
    const key = btoa("threadflow-tests");
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    // Read the 101 answer's head.
    while (true) {
      const end = findHeadEnd(raw.#buffer);
      if (end !== -1) {
        const head = new TextDecoder().decode(raw.#buffer.subarray(0, end));
        if (!head.startsWith("HTTP/1.1 101")) throw new Error(`Upgrade refused: ${head}`);
        raw.#buffer = raw.#buffer.slice(end + 4);
        return raw;
      }
      if (!(await raw.#fill())) throw new Error("Connection closed during the handshake.");
    }
  }

  /** Sends a text frame (masked, as clients must). */
  async sendText(text: string): Promise<void> {
    const payload = new TextEncoder().encode(text);
    const header = payload.length < 126
      ? new Uint8Array([0x81, 0x80 | payload.length])
      : new Uint8Array([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    // A zero mask key leaves the payload as is.
    const frame = new Uint8Array(header.length + 4 + payload.length);
    frame.set(header);
    frame.set(payload, header.length + 4);
    await this.conn.write(frame);
  }

  /** Reads frames until a close frame; returns its code, or `null` if the connection ended first. */
  async readUntilClose(): Promise<{ code: number | null; frames: number }> {
    let frames = 0;
    while (true) {
      const frame = this.#takeFrame();
      if (frame === undefined) {
        if (!(await this.#fill())) return { code: null, frames };
        continue;
      }
      frames++;
      if (frame.opcode === 8) {
        const code = frame.payload.length >= 2 ? (frame.payload[0] << 8) | frame.payload[1] : null;
        return { code, frames };
      }
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(this.#buffer.length + n);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = next;
    return true;
  }

  #takeFrame(): { opcode: number; payload: Uint8Array } | undefined {
    const b = this.#buffer;
    if (b.length < 2) return undefined;
    const opcode = b[0] & 0x0f;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = (b[2] << 8) | b[3];
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      offset = 10;
    }
    if (b.length < offset + length) return undefined;
    const payload = b.slice(offset, offset + length);
    this.#buffer = b.slice(offset + length);
    return { opcode, payload };
  }
}

function findHeadEnd(buffer: Uint8Array): number {
  for (let i = 0; i + 3 < buffer.length; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}
