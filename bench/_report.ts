/**
 * The shape every benchmark section returns, a table printer, and the JSON
 * writer for `bench/results/`. Shared by the section files
 * (`bench/*_bench.ts`) and the runner (`bench/mod.ts`).
 *
 * @module
 */

/**
 * One measured number, optionally compared with a baseline and a goal.
 *
 * @example
 * ```ts
 * import type { BenchRow } from "./_report.ts";
 * const row: BenchRow = {
 *   name: "no-op throughput (pool)",
 *   value: 150_000,
 *   unit: "tasks/s",
 *   baseline: "bare batched 190,000 tasks/s",
 *   ratio: 150_000 / 190_000,
 *   goal: "ratio ≥ 0.70",
 *   ok: 150_000 / 190_000 >= 0.7,
 * };
 * ```
 */
export interface BenchRow {
  /** What was measured, e.g. `no-op throughput (pool)`. */
  name: string;
  value: number;
  /** e.g. `tasks/s`, `ms`, `B/task`, `x`. */
  unit: string;
  /** What the value is compared with, in words and numbers. */
  baseline?: string;
  /** `value / baseline` (or the figure the goal is stated on). */
  ratio?: number;
  /** The goal in words, e.g. `ratio ≥ 0.70`. */
  goal?: string;
  /** Whether the goal was met; absent when the row has no goal. */
  ok?: boolean;
}

/**
 * A titled group of rows; each `bench/*_bench.ts` file's `run()` returns one
 * (or an array of them).
 *
 * @example
 * ```ts
 * import type { BenchSection } from "./_report.ts";
 * const section: BenchSection = {
 *   title: "Pool",
 *   rows: [{ name: "fib(27) x 200 speedup", value: 1.9, unit: "x" }],
 * };
 * ```
 */
export interface BenchSection {
  title: string;
  rows: BenchRow[];
  /** Free-form facts about the run (counts, machine details, raw samples). */
  details?: Record<string, unknown>;
}

/** Everything one `deno task bench` run measured, as written to `bench/results/`. */
export interface BenchReport {
  /** ISO 8601 time the run started. */
  startedAt: string;
  durationMs: number;
  environment: BenchEnvironment;
  sections: BenchSection[];
  /** Sections that threw instead of returning, by name. */
  errors: Record<string, string>;
}

/** The machine and runtime a run used. */
export interface BenchEnvironment {
  deno: string;
  v8: string;
  os: string;
  hardwareConcurrency: number;
  cpuModel: string | null;
  /** `git rev-parse --short HEAD`, or `null` outside a repository. */
  commit: string | null;
  /** One-minute load average when the run started, or `null` where unknown. */
  loadAverage: number | null;
}

/**
 * Formats a number for a table: thousands separators for large values, a few
 * significant decimals for small ones.
 *
 * @example
 * ```ts
 * import { formatValue } from "./_report.ts";
 * formatValue(187_654.3); // "187,654"
 * formatValue(0.04567); // "0.0457"
 * ```
 */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  let digits: number;
  if (magnitude >= 100) digits = 0;
  else if (magnitude >= 10) digits = 1;
  else if (magnitude >= 1) digits = 2;
  else if (magnitude === 0) digits = 0;
  else digits = Math.min(6, 2 - Math.floor(Math.log10(magnitude)));
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * Renders a section as a plain-text table (title line, header, one line per
 * row), without printing it.
 *
 * @example
 * ```ts
 * import { formatSection } from "./_report.ts";
 * const text = formatSection({ title: "Demo", rows: [{ name: "x", value: 1, unit: "ms" }] });
 * ```
 */
export function formatSection(section: BenchSection): string {
  const header = ["benchmark", "value", "unit", "baseline", "ratio", "goal", "ok"];
  const lines = section.rows.map((row) => [
    row.name,
    formatValue(row.value),
    row.unit,
    row.baseline ?? "",
    row.ratio === undefined ? "" : formatValue(row.ratio),
    row.goal ?? "",
    row.ok === undefined ? "" : row.ok ? "yes" : "NO",
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column].length))
  );
  // Numbers read best right-aligned; words left-aligned.
  const rightAligned = new Set([1, 4]);
  const render = (cells: string[]) =>
    cells
      .map((cell, column) =>
        rightAligned.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])
      )
      .join("  ")
      .trimEnd();
  return [
    `## ${section.title}`,
    render(header),
    render(widths.map((width) => "-".repeat(width))),
    ...lines.map(render),
  ].join("\n");
}

/**
 * Prints a section as a table on stdout.
 *
 * @example
 * ```ts
 * import { printSection } from "./_report.ts";
 * printSection({
 *   title: "Demo",
 *   rows: [{ name: "round trip p50", value: 0.05, unit: "ms", goal: "≤ 1.5x bare", ok: true }],
 * });
 * ```
 */
export function printSection(section: BenchSection): void {
  console.log(formatSection(section) + "\n");
}

/**
 * The value at percentile `p` (0–100) of `values`, by nearest rank. Sorts a
 * copy; returns `NaN` for no values.
 *
 * @example
 * ```ts
 * import { percentile } from "./_report.ts";
 * percentile([5, 1, 3, 2, 4], 50); // 3
 * ```
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * Describes the machine and runtime, for the JSON report.
 *
 * @example
 * ```ts
 * import { describeEnvironment } from "./_report.ts";
 * const environment = await describeEnvironment();
 * console.log(environment.hardwareConcurrency);
 * ```
 */
export async function describeEnvironment(): Promise<BenchEnvironment> {
  let cpuModel: string | null = null;
  try {
    const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? null;
  } catch {
    // Not Linux, or no permission: the model is a nicety.
  }
  let commit: string | null = null;
  try {
    const output = await new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd: new URL("..", import.meta.url),
      stdout: "piped",
      stderr: "null",
    }).output();
    if (output.success) commit = new TextDecoder().decode(output.stdout).trim();
  } catch {
    // No git, or no permission to run it.
  }
  let loadAverage: number | null = null;
  try {
    loadAverage = Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    // Not Linux: other processes' load goes unrecorded.
  }
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    hardwareConcurrency: navigator.hardwareConcurrency,
    cpuModel,
    commit,
    loadAverage,
  };
}

/** Options for {@linkcode writeReport}. */
export interface WriteReportOptions {
  /** Folder to write into; default `bench/results/` next to this file. */
  dir?: string | URL;
}

/**
 * Writes a report as `<dir>/<timestamp>.json` (creating the folder) and
 * returns the file's path.
 *
 * @example
 * ```ts
 * import { describeEnvironment, writeReport } from "./_report.ts";
 * const path = await writeReport({
 *   startedAt: new Date().toISOString(),
 *   durationMs: 0,
 *   environment: await describeEnvironment(),
 *   sections: [],
 *   errors: {},
 * });
 * ```
 */
export async function writeReport(
  report: BenchReport,
  options: WriteReportOptions = {},
): Promise<string> {
  const dir = options.dir ?? new URL("./results/", import.meta.url);
  const dirPath = dir instanceof URL ? decodeURIComponent(dir.pathname) : dir;
  await Deno.mkdir(dirPath, { recursive: true });
  const stamp = report.startedAt.replaceAll(":", "-");
  const path = `${dirPath.replace(/\/$/, "")}/${stamp}.json`;
  await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
  return path;
}

/**
 * `BENCH_SCALE` (0 < x ≤ 1): every section shrinks its sizes by it, for a
 * quick pass. Throws naming the variable when it is malformed.
 */
export function benchScale(): number {
  const raw = Deno.env.get("BENCH_SCALE");
  if (raw === undefined || raw === "") return 1;
  const value = Number(raw);
  if (!(value > 0 && value <= 1)) {
    throw new Error(`BENCH_SCALE must be a number above 0 and at most 1: received "${raw}".`);
  }
  return value;
}
