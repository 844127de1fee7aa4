/**
 * `deno task bench`: runs every benchmark section that exists, prints each as
 * a table, and writes everything to `bench/results/<timestamp>.json`.
 *
 * ```sh
 * deno task bench             # every section
 * deno task bench pool http   # only these, in this order
 * ```
 *
 * A section is a file `bench/<name>_bench.ts` whose `run()` returns a
 * {@linkcode BenchSection} (or several). A section that throws is reported and
 * the others still run; the exit code is then 1.
 *
 * @module
 */

import {
  type BenchReport,
  type BenchSection,
  describeEnvironment,
  printSection,
  writeReport,
} from "./_report.ts";

/** The sections `deno task bench` knows, in the order it runs them. */
export const SECTION_NAMES: readonly string[] = ["pool", "http", "store", "ui"];

/** What a section module exports. */
export interface SectionModule {
  run(): Promise<BenchSection | BenchSection[]>;
}

/** Options for {@linkcode runBenchmarks}. */
export interface RunBenchmarksOptions {
  /** Write the JSON report; default `true`. */
  write?: boolean;
}

/**
 * Runs the named sections (all known ones when `names` is empty), printing
 * each table as it completes, and returns the report.
 *
 * @example
 * ```ts
 * import { runBenchmarks } from "./mod.ts";
 * const report = await runBenchmarks(["pool"], { write: false });
 * console.log(Object.keys(report.errors).length === 0);
 * ```
 */
export async function runBenchmarks(
  names: string[],
  options: RunBenchmarksOptions = {},
): Promise<BenchReport> {
  const unknown = names.filter((name) => !SECTION_NAMES.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `Unknown benchmark section ${JSON.stringify(unknown[0])}: expected one of ${
        SECTION_NAMES.join(", ")
      }.`,
    );
  }
  const selected = names.length > 0 ? names : [...SECTION_NAMES];
  const started = performance.now();
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    durationMs: 0,
    environment: await describeEnvironment(),
    sections: [],
    errors: {},
  };
  const env = report.environment;
  console.log(
    `ThreadFlow benchmarks: Deno ${env.deno}, V8 ${env.v8}, ${env.os}, ` +
      `${env.hardwareConcurrency} cores${env.cpuModel ? ` (${env.cpuModel})` : ""}` +
      `${env.commit ? `, commit ${env.commit}` : ""}\n`,
  );
  if (env.loadAverage !== null && env.loadAverage > env.hardwareConcurrency * 0.5) {
    console.log(
      `Warning: the load average is ${env.loadAverage} on ${env.hardwareConcurrency} cores: ` +
        "other processes compete for the CPU, so rates and latencies will be low and noisy " +
        "(CPU-per-task figures much less so). Run on a quiet machine for numbers to compare.\n",
    );
  }
  for (const name of selected) {
    const url = new URL(`./${name}_bench.ts`, import.meta.url);
    if (!(await fileExists(url))) {
      // An explicitly requested section that is missing is an error; in a
      // full run, sections not written yet are skipped.
      if (names.length > 0) report.errors[name] = `bench/${name}_bench.ts does not exist.`;
      console.log(`(skipping ${name}: bench/${name}_bench.ts does not exist)\n`);
      continue;
    }
    const sectionStarted = performance.now();
    try {
      const module: SectionModule = await import(url.href);
      const result = await module.run();
      for (const section of Array.isArray(result) ? result : [result]) {
        report.sections.push(section);
        printSection(section);
      }
      console.log(
        `(${name}: ${((performance.now() - sectionStarted) / 1000).toFixed(1)} s)\n`,
      );
    } catch (error) {
      report.errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`Section ${name} failed:`, error, "\n");
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  if (options.write ?? true) {
    const path = await writeReport(report);
    console.log(`Wrote ${path}`);
  }
  const rows = report.sections.flatMap((section) => section.rows);
  const withGoal = rows.filter((row) => row.ok !== undefined);
  const missed = withGoal.filter((row) => !row.ok);
  console.log(
    `Goals met: ${withGoal.length - missed.length} of ${withGoal.length}` +
      (missed.length > 0 ? ` (missed: ${missed.map((row) => row.name).join("; ")})` : "") +
      `; ${(report.durationMs / 1000).toFixed(1)} s in all.`,
  );
  return report;
}

async function fileExists(url: URL): Promise<boolean> {
  try {
    return (await Deno.stat(url)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

if (import.meta.main) {
  const unknown = Deno.args.find((name) => !SECTION_NAMES.includes(name));
  if (unknown !== undefined) {
    console.error(
      `Unknown benchmark section ${JSON.stringify(unknown)}: expected any of ${
        SECTION_NAMES.join(", ")
      }.`,
    );
    Deno.exit(2);
  }
  const report = await runBenchmarks(Deno.args);
  if (Object.keys(report.errors).length > 0) Deno.exit(1);
}
