/**
 * SHA-256 of `data` (text) or of byte payload, hashed `rounds` times (default 1)
 * with `crypto.subtle`; returns the hex digest.
 */
import type { TaskContext } from "../context.ts";

export default async function sha256(
  payload: unknown,
  ctx: TaskContext,
): Promise<{ hex: string; rounds: number }> {
  const { bytes, rounds } = read(payload);
  let digest: ArrayBuffer = await crypto.subtle.digest("SHA-256", bytes);
  for (let i = 1; i < rounds; i++) {
    if ((i & 1023) === 0) {
      ctx.signal.throwIfAborted();
      ctx.progress(i / rounds);
    }
    digest = await crypto.subtle.digest("SHA-256", digest);
  }
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return { hex, rounds };
}

function read(payload: unknown): { bytes: Uint8Array<ArrayBuffer>; rounds: number } {
  if (payload instanceof Uint8Array) return { bytes: new Uint8Array(payload), rounds: 1 };
  const { data, bytes, rounds = 1 } = (payload ?? {}) as {
    data?: unknown;
    bytes?: unknown;
    rounds?: unknown;
  };
  if (
    typeof rounds !== "number" || !Number.isInteger(rounds) || rounds < 1 || rounds > 10_000_000
  ) {
    throw new RangeError(
      `Payload rounds must be an integer from 1 to 10000000: received ${String(rounds)}.`,
    );
  }
  if (bytes instanceof Uint8Array) return { bytes: new Uint8Array(bytes), rounds };
  if (typeof data === "string") return { bytes: new TextEncoder().encode(data), rounds };
  throw new TypeError("Payload must be bytes, or an object with data (a string) or bytes.");
}
