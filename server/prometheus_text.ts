/**
 * Pieces of the Prometheus text format shared by the metrics modules: label
 * sets with their values escaped, and histogram lines.
 *
 * @module
 */

/**
 * Prometheus histogram lines from per-bucket (not cumulative) counts; the
 * last count is the +Inf bucket's.
 *
 * @example
 * ```ts
 * import { histogramLines } from "./prometheus_text.ts";
 * histogramLines("wait_seconds", [0.1, 1], [3, 1, 0], 0.9, 4);
 * // wait_seconds_bucket{le="0.1"} 3, ...{le="1"} 4, ...{le="+Inf"} 4, wait_seconds_sum 0.9, wait_seconds_count 4
 * ```
 */
export function histogramLines(
  name: string,
  bounds: readonly number[],
  counts: readonly number[],
  sum: number,
  count: number,
): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += counts[i] ?? 0;
    lines.push(`${name}_bucket${labels({ le: String(bounds[i]) })} ${cumulative}`);
  }
  lines.push(`${name}_bucket${labels({ le: "+Inf" })} ${count}`);
  lines.push(`${name}_sum ${sum}`, `${name}_count ${count}`);
  return lines;
}

/**
 * A label set, `{key="value",…}`, with backslashes, quotes and newlines in
 * the values escaped as the text format asks.
 *
 * @example
 * ```ts
 * import { labels } from "./prometheus_text.ts";
 * labels({ route: "/api/tasks/:id", status: "200" }); // {route="/api/tasks/:id",status="200"}
 * ```
 */
export function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(([key, value]) =>
    `${key}="${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return `{${parts.join(",")}}`;
}
