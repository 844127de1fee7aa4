/**
 * Messages between the pool (main thread) and a task worker. Shared by both
 * sides. Jobs and outcomes, the bulk of the traffic, travel in batches
 * column by column (ids in one string, numbers in one typed array), which
 * structured clone copies far faster than an array per job.
 *
 * A job is known on both sides by its claim cell and sequence number (see
 * `claims.ts`): the worker claims a job in shared memory before it starts it,
 * so the pool knows exactly which jobs have started and can take back the
 * ones that have not.
 *
 * @module
 */

import type { ParentOutcome, ProgressValue, TaskError } from "../model/task.ts";

/** Job flag: report the start at once (the type is not known to be quick). */
export const REPORT_START = 1;
/** Job flag: its payload is the batch's next in `payloads` (else it is `null`). */
const HAS_PAYLOAD = 2;
/** Job flag: its parents' outcomes are the batch's next in `parents`. */
const HAS_PARENTS = 4;
/** Numbers per job in {@linkcode JobBatch.numbers}: type index, attempt, cell, seq, flags. */
const JOB_NUMBERS = 5;

/**
 * One task as the worker runs it:
 * `[id, type, payload, attempt, cell, seq, flags, parents?]`.
 */
export type Job = [
  id: string,
  type: string,
  payload: unknown,
  attempt: number,
  cell: number,
  seq: number,
  flags: number,
  parents?: ParentOutcome[],
];

/**
 * Jobs as they travel, column by column: a few strings and one typed array
 * instead of an array per job, which structured clone (and MessagePack)
 * copy several times faster. Payloads and parents travel only where there
 * are any.
 */
export interface JobBatch {
  /** Task ids joined by commas (ids are UUIDs: they hold none). */
  ids: string;
  /** The task types of the batch, each once. */
  types: string[];
  /** Per job: index in `types`, attempt, cell, seq, flags. */
  numbers: Int32Array;
  /** The payloads other than `null`, in job order. */
  payloads: unknown[];
  /** The parents' outcomes of the jobs that have them, in job order. */
  parents: ParentOutcome[][];
}

/**
 * Packs `count` jobs, added in order with {@linkcode JobPacker.add}.
 *
 * @example
 * ```ts
 * import { JobPacker, unpackJobs } from "./engine/pool/protocol.ts";
 * const packer = new JobPacker(1);
 * packer.add("0192c0de-0000-7000-8000-000000000000", "noop", null, 1, 0, 1, 0);
 * unpackJobs(packer.batch())[0][1]; // "noop"
 * ```
 */
export class JobPacker {
  #ids: string[];
  #types: string[] = [];
  #numbers: Int32Array;
  #payloads: unknown[] = [];
  #parents: ParentOutcome[][] = [];
  #count = 0;

  constructor(count: number) {
    this.#ids = new Array(count);
    this.#numbers = new Int32Array(count * JOB_NUMBERS);
  }

  /** Adds the next job. */
  add(
    id: string,
    type: string,
    payload: unknown,
    attempt: number,
    cell: number,
    seq: number,
    flags: number,
    parents?: ParentOutcome[],
  ): void {
    const at = this.#count * JOB_NUMBERS;
    this.#ids[this.#count++] = id;
    let index = this.#types.indexOf(type);
    if (index < 0) index = this.#types.push(type) - 1;
    if (payload !== null) {
      flags |= HAS_PAYLOAD;
      this.#payloads.push(payload);
    }
    if (parents !== undefined) {
      flags |= HAS_PARENTS;
      this.#parents.push(parents);
    }
    const numbers = this.#numbers;
    numbers[at] = index;
    numbers[at + 1] = attempt;
    numbers[at + 2] = cell;
    numbers[at + 3] = seq;
    numbers[at + 4] = flags;
  }

  /** The jobs added, ready to send. */
  batch(): JobBatch {
    return {
      ids: this.#ids.join(","),
      types: this.#types,
      numbers: this.#numbers,
      payloads: this.#payloads,
      parents: this.#parents,
    };
  }
}

/** The jobs of a {@linkcode JobBatch}, in order. */
export function unpackJobs(batch: JobBatch): Job[] {
  const ids = batch.ids.split(",");
  const numbers = int32sOf(batch.numbers);
  const jobs = new Array<Job>(ids.length);
  let payloads = 0;
  let parents = 0;
  for (let i = 0, at = 0; i < ids.length; i++, at += JOB_NUMBERS) {
    const flags = numbers[at + 4];
    const payload = (flags & HAS_PAYLOAD) === 0 ? null : batch.payloads[payloads++];
    const job: Job = [
      ids[i],
      batch.types[numbers[at]],
      payload,
      numbers[at + 1],
      numbers[at + 2],
      numbers[at + 3],
      flags & REPORT_START,
    ];
    if ((flags & HAS_PARENTS) !== 0) job.push(batch.parents[parents++]);
    jobs[i] = job;
  }
  return jobs;
}

/** Outcome flag: the handler returned (else it threw). */
const OUTCOME_OK = 1;
/** Outcome flag: its value is the report's next in `values` (else it is `null`). */
const HAS_VALUE = 2;
/** Outcome flag: the payload's bytes come back as the report's next in `bytes`. */
const HAS_BYTES = 4;
/** Numbers per outcome in a report: cell, seq, flags, startedAt, runMs. */
const OUTCOME_NUMBERS = 5;

/**
 * What happened since the last report, in order: `outcomes` first, then
 * `starts` as flat `[cell, seq, startedAt]` triples of jobs still running.
 * Outcomes travel column by column like jobs (see {@linkcode JobBatch}).
 */
export interface Report {
  kind: "report";
  /** Per outcome: cell, seq, flags, startedAt, runMs (see {@linkcode OutcomeReader}). */
  outcomes: Float64Array;
  /** The values other than `null`, in outcome order. */
  values: unknown[];
  /** Moved payloads coming back, in outcome order. */
  bytes: Uint8Array[];
  starts: number[];
}

/**
 * Gathers outcomes into reports.
 *
 * @example
 * ```ts
 * import { OutcomePacker, OutcomeReader } from "./engine/pool/protocol.ts";
 * const packer = new OutcomePacker();
 * packer.add(0, 1, true, 42, Date.now(), 0.1);
 * const reader = new OutcomeReader(packer.report([]));
 * reader.next(); // true
 * reader.value; // 42
 * ```
 */
export class OutcomePacker {
  #numbers: number[] = [];
  #values: unknown[] = [];
  #bytes: Uint8Array[] = [];

  /** Outcomes gathered and not yet reported. */
  get size(): number {
    return this.#numbers.length / OUTCOME_NUMBERS;
  }

  /**
   * Adds an outcome: `value` is the result, or a {@linkcode TaskError};
   * `startedAt` is when the handler was called (ms since epoch,
   * fractional); `runMs` the handler's own run time; a byte payload moved
   * to the worker goes back as `payload`.
   */
  add(
    cell: number,
    seq: number,
    ok: boolean,
    value: unknown,
    startedAt: number,
    runMs: number,
    payload?: Uint8Array,
  ): void {
    let flags = ok ? OUTCOME_OK : 0;
    if (value !== null) {
      flags |= HAS_VALUE;
      this.#values.push(value);
    }
    if (payload !== undefined) {
      flags |= HAS_BYTES;
      this.#bytes.push(payload);
    }
    this.#numbers.push(cell, seq, flags, startedAt, runMs);
  }

  /** A report of the outcomes gathered (then forgotten here) and `starts`. */
  report(starts: number[]): Report {
    const report: Report = {
      kind: "report",
      outcomes: new Float64Array(this.#numbers),
      values: this.#values,
      bytes: this.#bytes,
      starts,
    };
    this.#numbers = [];
    this.#values = [];
    this.#bytes = [];
    return report;
  }
}

/** How a job ended, as the pool settles it (an {@linkcode OutcomeReader} is one). */
export interface Settlement {
  /** The handler returned (else it threw). */
  ok: boolean;
  /** The result, or a {@linkcode TaskError}. */
  value: unknown;
  /** When the handler was called (ms since epoch, fractional). */
  startedAt: number;
  /** The handler's own run time. */
  runMs: number;
  /** A byte payload moved to the worker, back. */
  payload?: Uint8Array;
}

/**
 * Reads a report's outcomes in order: each {@linkcode OutcomeReader.next}
 * moves its fields to the next outcome.
 */
export class OutcomeReader implements Settlement {
  cell = 0;
  seq = 0;
  /** The handler returned (else it threw). */
  ok = false;
  /** The result, or a {@linkcode TaskError}. */
  value: unknown = null;
  /** When the handler was called (ms since epoch, fractional). */
  startedAt = 0;
  /** The handler's own run time. */
  runMs = 0;
  /** A byte payload moved to the worker, back. */
  payload: Uint8Array | undefined = undefined;
  #report: Report;
  #numbers: Float64Array;
  #at = -OUTCOME_NUMBERS;
  #values = 0;
  #bytes = 0;

  constructor(report: Report) {
    this.#report = report;
    this.#numbers = float64sOf(report.outcomes);
  }

  /** Moves to the next outcome; `false` when there is none. */
  next(): boolean {
    const at = this.#at += OUTCOME_NUMBERS;
    const numbers = this.#numbers;
    if (at >= numbers.length) return false;
    const flags = numbers[at + 2];
    this.cell = numbers[at];
    this.seq = numbers[at + 1];
    this.ok = (flags & OUTCOME_OK) !== 0;
    this.value = (flags & HAS_VALUE) === 0 ? null : this.#report.values[this.#values++];
    this.startedAt = numbers[at + 3];
    this.runMs = numbers[at + 4];
    this.payload = (flags & HAS_BYTES) === 0 ? undefined : this.#report.bytes[this.#bytes++];
    return true;
  }
}

/** A report of starts alone. */
export function startsReport(starts: number[]): Report {
  return { kind: "report", outcomes: new Float64Array(0), values: [], bytes: [], starts };
}

/**
 * The numbers of an `Int32Array` that came through MessagePack (which
 * carries typed arrays as bytes).
 */
function int32sOf(numbers: Int32Array | Uint8Array): Int32Array {
  if (numbers instanceof Int32Array) return numbers;
  return new Int32Array(numbers.slice().buffer);
}

/** Like {@linkcode int32sOf}, for a `Float64Array`. */
function float64sOf(numbers: Float64Array | Uint8Array): Float64Array {
  if (numbers instanceof Float64Array) return numbers;
  return new Float64Array(numbers.slice().buffer);
}

/** Main thread → worker. */
export type ToWorker =
  | {
    kind: "init";
    slot: number;
    concurrency: number;
    /** How many jobs the pool may send ahead (the number of claim cells). */
    capacity: number;
    /** Claim cells shared with the pool, or `null` (every job it is sent is its own). */
    cells: Int32Array | null;
    /** Start times by cell, written before a claim. */
    starts: Float64Array | null;
    /**
     * In a worker process: later messages come as MessagePack bodies, and
     * replies go as frames (see `frames.ts`). Default `false`.
     */
    frames?: boolean;
  }
  | { kind: "run"; jobs: JobBatch }
  | { kind: "abort"; cell: number; seq: number };

/** Worker → main thread. */
export type FromWorker =
  | { kind: "ready"; invalid: Array<{ type: string; url: string; reason: string }> }
  | Report
  | { kind: "progress"; cell: number; seq: number; value: ProgressValue }
  | { kind: "exiting"; reason: string };

/** Turns anything thrown into a {@linkcode TaskError}. */
export function toTaskError(error: unknown): TaskError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  if (error instanceof DOMException) {
    return { name: error.name, message: error.message };
  }
  return { name: "Error", message: typeof error === "string" ? error : String(error) };
}

/** A progress report as a fraction from 0 to 1. */
export function toFraction(value: ProgressValue): number {
  const fraction = typeof value === "number"
    ? value
    : value.total > 0
    ? value.done / value.total
    : 0;
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}
