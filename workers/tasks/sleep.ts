/**
 * Waits `ms` milliseconds (default 1,000) with progress ticks: the original
 * ThreadFlow's simulated processing. Stops early when cancelled.
 */
import type { TaskContext } from "../context.ts";

const TICK_MS = 100;

export default function sleep(payload: unknown, ctx: TaskContext): Promise<{ sleptMs: number }> {
  const ms = readMs(payload);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason);
    ctx.progress(0);
    const tick = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= ms) return;
      ctx.progress(elapsed / ms);
    }, Math.min(TICK_MS, Math.max(1, ms / 10)));
    const done = setTimeout(() => {
      clearInterval(tick);
      ctx.signal.removeEventListener("abort", onAbort);
      resolve({ sleptMs: Date.now() - started });
    }, ms);
    function onAbort() {
      clearInterval(tick);
      clearTimeout(done);
      reject(ctx.signal.reason);
    }
    ctx.signal.addEventListener("abort", onAbort, { once: true });
  });
}

function readMs(payload: unknown): number {
  if (payload === null || payload === undefined) return 1000;
  const ms = (payload as { ms?: unknown }).ms ?? 1000;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || ms > 86_400_000) {
    throw new RangeError(
      `Payload ms must be a number of milliseconds from 0 to 86400000: received ${String(ms)}.`,
    );
  }
  return ms;
}
