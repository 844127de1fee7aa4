/** Counts the primes below `limit` by trial division: CPU-bound, with progress and cancellation. */
import type { TaskContext } from "../context.ts";

export default function primes(
  payload: unknown,
  ctx: TaskContext,
): { limit: number; count: number } {
  const limit = (payload as { limit?: unknown } | null)?.limit;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0 || limit > 1e9) {
    throw new RangeError(
      `Payload limit must be an integer from 0 to 1000000000: received ${String(limit)}.`,
    );
  }
  let count = 0;
  for (let n = 2; n < limit; n++) {
    if ((n & 0xffff) === 0) {
      ctx.signal.throwIfAborted();
      ctx.progress(n / limit);
    }
    if (isPrime(n)) count++;
  }
  return { limit, count };
}

function isPrime(n: number): boolean {
  if (n < 4) return n > 1;
  if (n % 2 === 0 || n % 3 === 0) return false;
  for (let d = 5; d * d <= n; d += 6) {
    if (n % d === 0 || n % (d + 2) === 0) return false;
  }
  return true;
}
