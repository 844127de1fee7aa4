/**
 * Formatting shared by pages and islands: durations, sizes, times, previews.
 *
 * @module
 */

/**
 * A duration in milliseconds, short and human: `850 ms`, `3.2 s`, `4 min 05 s`, `2 h 03 min`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./format.ts";
 * formatDuration(3200); // "3.2 s"
 * ```
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms === 0) return "0 ms";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, "0")} min`;
}

/**
 * A byte count: `512 B`, `1.5 KiB`, `3.0 MiB`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./format.ts";
 * formatBytes(1536); // "1.5 KiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * A count with thousands separators that does not depend on the locale: `12 345`.
 *
 * @example
 * ```ts
 * import { formatCount } from "./format.ts";
 * formatCount(12345); // "12 345"
 * ```
 */
export function formatCount(n: number): string {
  const sign = n < 0 ? "-" : "";
  const digits = String(Math.abs(Math.round(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
}

/**
 * A timestamp (ms since epoch) as ISO 8601 UTC to the millisecond, or `–`.
 * UTC and a fixed format keep the server's and the browser's renders equal.
 *
 * @example
 * ```ts
 * import { formatTime } from "./format.ts";
 * formatTime(0); // "1970-01-01 00:00:00.000Z"
 * ```
 */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return new Date(ms).toISOString().replace("T", " ");
}

/**
 * The first `limit` bytes as hex pairs, with `…` when there are more.
 *
 * @example
 * ```ts
 * import { hexPreview } from "./format.ts";
 * hexPreview(new Uint8Array([0, 255, 16])); // "00 ff 10"
 * ```
 */
export function hexPreview(bytes: Uint8Array, limit = 64): string {
  const shown = Array.from(bytes.subarray(0, limit), (b) => b.toString(16).padStart(2, "0"));
  return shown.join(" ") + (bytes.length > limit ? " …" : "");
}

/**
 * A JSON value pretty-printed for display, cut at `limit` characters.
 *
 * @example
 * ```ts
 * import { previewJson } from "./format.ts";
 * previewJson({ n: 30 }); // '{\n  "n": 30\n}'
 * ```
 */
export function previewJson(value: unknown, limit = 20_000): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? "undefined";
  } catch {
    text = String(value);
  }
  return text.length > limit
    ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters)`
    : text;
}

/**
 * Progress (0–1 or `null`) as a percentage label.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./format.ts";
 * formatProgress(0.424); // "42%"
 * ```
 */
export function formatProgress(progress: number | null): string {
  return progress === null ? "–" : `${Math.round(progress * 100)}%`;
}

/**
 * The time of day of a timestamp, UTC, to the second: `14:03:07 UTC`. UTC keeps
 * the server's and the browser's renders equal.
 *
 * @example
 * ```ts
 * import { formatClock } from "./format.ts";
 * formatClock(0); // "00:00:00 UTC"
 * ```
 */
export function formatClock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/**
 * An age or elapsed time in whole units: `4 s`, `2 min 05 s`, `3 h 07 min`.
 *
 * @example
 * ```ts
 * import { formatAge } from "./format.ts";
 * formatAge(125_000); // "2 min 05 s"
 * ```
 */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  if (s < 86_400) {
    return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, "0")} min`;
  }
  return `${Math.floor(s / 86_400)} d ${String(Math.floor(s / 3600) % 24).padStart(2, "0")} h`;
}

/**
 * The first line of an error message, at most `limit` characters (with `…` when cut).
 *
 * @example
 * ```ts
 * import { firstLine } from "./format.ts";
 * firstLine("boom\n  at x"); // "boom"
 * ```
 */
export function firstLine(text: string, limit = 160): string {
  const line = text.split("\n", 1)[0].trim();
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}
