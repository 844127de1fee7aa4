/**
 * Per task type figures over the last hour: run time percentiles, attempts
 * that succeeded and failed, and the last error. Memory is bounded: twelve
 * five-minute slots per type (a run-time histogram of about 1 KB and two
 * counts each), for the types this engine runs.
 *
 * @module
 */

import { Histogram } from "./histogram.ts";
import type { TaskError } from "../model/task.ts";

/** A task type's figures over the last hour, as {@linkcode TypeStatsRecorder.read} gives them. */
export interface TaskTypeFigures {
  /** Run time of the attempts that ended in the last hour, ms (percentiles within ~10%). */
  runMs: { count: number; p50: number; p95: number };
  /** Attempts that ended in the last hour: succeeded, failed (errors, timeouts, crashes). */
  lastHour: { succeeded: number; failed: number; failureRate: number | null };
  /** The type's most recent failed attempt on this node since it started, or `null`. */
  lastError: { at: number; taskId: string; name: string; message: string } | null;
}

/** Length of one slot, ms. */
const SLOT_MS = 5 * 60_000;
/** Slots in the window: an hour. */
const SLOTS = 12;

interface Slot {
  /** Which five minutes since the epoch this slot holds; -1 when never used. */
  index: number;
  run: Histogram;
  succeeded: number;
  failed: number;
}

interface TypeFiguresState {
  /** By five-minute index modulo {@linkcode SLOTS}; holes until used. */
  slots: (Slot | undefined)[];
  /** The slot last recorded into, and the times it covers: most records land there again. */
  current: Slot | undefined;
  currentFrom: number;
  currentTo: number;
  lastError: TaskTypeFigures["lastError"];
}

/**
 * Records each ended attempt by type; answers the last hour's figures.
 *
 * @example
 * ```ts
 * import { TypeStatsRecorder } from "./engine/facade/type_stats.ts";
 * const recorder = new TypeStatsRecorder();
 * recorder.record("fib", true, 12, null, "id", Date.now());
 * recorder.read("fib", Date.now()).lastHour.succeeded; // 1
 * ```
 */
export class TypeStatsRecorder {
  #types = new Map<string, TypeFiguresState>();
  /** The type last recorded (a run of one type's tasks skips the map). */
  #lastType = "";
  #last: TypeFiguresState | undefined;

  /**
   * Records an attempt of `type` that ended at `at`: `ok` or failed with
   * `error`, after `runMs` (`null` when unknown, as for a crashed worker).
   */
  record(
    type: string,
    ok: boolean,
    runMs: number | null,
    error: TaskError | null,
    taskId: string,
    at: number,
  ): void {
    let state = type === this.#lastType ? this.#last : this.#types.get(type);
    if (state === undefined) {
      state = { slots: [], current: undefined, currentFrom: 0, currentTo: 0, lastError: null };
      this.#types.set(type, state);
    }
    this.#lastType = type;
    this.#last = state;
    let slot = state.current;
    if (slot === undefined || at < state.currentFrom || at >= state.currentTo) {
      const index = Math.floor(at / SLOT_MS);
      slot = slotAt(state, index);
      if (slot.index === index) {
        state.current = slot;
        state.currentFrom = index * SLOT_MS;
        state.currentTo = state.currentFrom + SLOT_MS;
      }
    }
    if (runMs !== null) slot.run.record(runMs);
    if (ok) {
      slot.succeeded++;
    } else {
      slot.failed++;
      state.lastError = {
        at,
        taskId,
        name: error?.name ?? "Error",
        message: error?.message ?? "",
      };
    }
  }

  /** The figures of `type` for the hour before `now` (zeros for a type without attempts). */
  read(type: string, now: number): TaskTypeFigures {
    const state = this.#types.get(type);
    const run = new Histogram();
    let succeeded = 0;
    let failed = 0;
    const current = Math.floor(now / SLOT_MS);
    for (const slot of state?.slots ?? []) {
      if (slot === undefined || slot.index <= current - SLOTS || slot.index > current) continue;
      run.add(slot.run);
      succeeded += slot.succeeded;
      failed += slot.failed;
    }
    const summary = run.summary();
    const ended = succeeded + failed;
    return {
      runMs: { count: summary.count, p50: summary.p50, p95: summary.p95 },
      lastHour: {
        succeeded,
        failed,
        failureRate: ended === 0 ? null : Math.round((failed / ended) * 10_000) / 10_000,
      },
      lastError: state?.lastError === null || state === undefined ? null : { ...state.lastError },
    };
  }
}

/** The slot of five-minute `index`, reusing the oldest when all twelve are taken. */
function slotAt(state: TypeFiguresState, index: number): Slot {
  const position = index % SLOTS;
  let slot = state.slots[position];
  if (slot === undefined) {
    slot = { index, run: new Histogram(), succeeded: 0, failed: 0 };
    state.slots[position] = slot;
  } else if (slot.index < index) {
    slot.index = index;
    slot.run.clear();
    slot.succeeded = 0;
    slot.failed = 0;
  }
  return slot;
}
