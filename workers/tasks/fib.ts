/** Computes the n-th Fibonacci number the slow, CPU-bound way (n from 0 to 45). */
export default function fib(payload: unknown): number {
  const n = (payload as { n?: unknown } | null)?.n;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 45) {
    throw new RangeError(`Payload n must be an integer from 0 to 45: received ${String(n)}.`);
  }
  return slowFib(n);
}

function slowFib(n: number): number {
  return n < 2 ? n : slowFib(n - 1) + slowFib(n - 2);
}
