/**
 * A raw WebSocket client over TCP for tests: it sends what a browser never
 * would (text frames with invalid UTF-8, frames larger than any sane limit,
 * any opcode) and reads only when told to, so it is also a real slow
 * consumer. Reads until the server's close frame.
 *
 * @module
 */

/** A raw connection after a successful opening handshake. */
export class RawSocket {
  readonly conn: Deno.TcpConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port` and completes the handshake; throws if refused. */
  static async connect(
    port: number,
    path = "/ws",
    headers: Record<string, string> = {},
  ): Promise<RawSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const socket = new RawSocket(conn);
    const key = btoa("threadflow-fuzz!");
    await writeAll(
      conn,
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") +
          "\r\n",
      ),
    );
    while (true) {
      const end = headEnd(socket.#buffer);
      if (end !== -1) {
        const head = new TextDecoder().decode(socket.#buffer.subarray(0, end));
        socket.#buffer = socket.#buffer.slice(end + 4);
        if (!head.startsWith("HTTP/1.1 101")) {
          conn.close();
          throw new Error(`Upgrade refused: ${head.split("\r\n")[0]}`);
        }
        return socket;
      }
      if (!(await socket.#fill())) {
        conn.close();
        throw new Error("Connection closed during the handshake.");
      }
    }
  }

  /** Sends a text frame. */
  sendText(text: string): Promise<void> {
    return this.sendFrame(1, new TextEncoder().encode(text));
  }

  /** Sends one masked frame (opcode 1 text, 2 binary, 8 close, 9 ping). */
  async sendFrame(opcode: number, payload: Uint8Array): Promise<void> {
    const length = payload.byteLength;
    const head: number[] = [0x80 | opcode];
    if (length < 126) head.push(0x80 | length);
    else if (length < 65536) head.push(0x80 | 126, length >> 8, length & 0xff);
    else {
      head.push(0x80 | 127, 0, 0, 0, 0);
      head.push(
        (length >>> 24) & 0xff,
        (length >>> 16) & 0xff,
        (length >>> 8) & 0xff,
        length & 0xff,
      );
    }
    const mask = [0x12, 0x34, 0x56, 0x78];
    const frame = new Uint8Array(head.length + 4 + length);
    frame.set(head, 0);
    frame.set(mask, head.length);
    const offset = head.length + 4;
    for (let i = 0; i < length; i++) frame[offset + i] = payload[i] ^ mask[i & 3];
    await writeAll(this.conn, frame);
  }

  /**
   * Reads frames until the server closes (returns its close code, or null if
   * the TCP connection ended without a close frame) or `timeoutMs` passes
   * (returns "timeout"). Text frames received are collected in `texts`.
   */
  async readUntilClose(
    timeoutMs: number,
    texts: string[] = [],
  ): Promise<number | null | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const frame = this.#takeFrame();
      if (frame) {
        if (frame.opcode === 8) {
          return frame.payload.length >= 2 ? (frame.payload[0] << 8) | frame.payload[1] : null;
        }
        if (frame.opcode === 1) texts.push(new TextDecoder().decode(frame.payload));
        continue;
      }
      const timer = setTimeout(() => this.close(), Math.max(1, deadline - Date.now()));
      let more: boolean;
      try {
        more = await this.#fill();
      } catch {
        more = false;
      } finally {
        clearTimeout(timer);
      }
      if (!more) return Date.now() >= deadline ? "timeout" : null;
    }
    return "timeout";
  }

  /** Closes the TCP connection. */
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

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function headEnd(buffer: Uint8Array): number {
  for (let i = 0; i + 3 < buffer.length; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}
