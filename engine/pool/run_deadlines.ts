/**
 * The deadlines of the jobs workers run: a started job's timeout, and a
 * cancelled job's grace to stop. One timer queue serves them all; a due
 * deadline is handed back as the reason to replace the job's worker.
 *
 * @module
 */

import { DeadlineQueue } from "../source/deadline_queue.ts";
import type { InterruptCause } from "./hooks.ts";
import type { Held } from "./slot.ts";

interface RunDeadline {
  held: Held;
  kind: "timeout" | "cancel";
}

/**
 * Timeouts and cancel grace periods of held jobs.
 *
 * @example
 * ```ts ignore
 * const deadlines = new RunDeadlines((held, cause) => replace(held.slot, cause));
 * deadlines.armTimeout(held, startedAt);
 * deadlines.forget(held); // it settled
 * deadlines.close();
 * ```
 */
export class RunDeadlines {
  #queue: DeadlineQueue<RunDeadline>;

  /** `onDue` hears each job still held whose deadline passed, and why its worker must go. */
  constructor(onDue: (held: Held, cause: InterruptCause) => void) {
    this.#queue = new DeadlineQueue((due) => {
      for (const { held, kind } of due) {
        if (held.slot.held[held.cell] !== held) continue;
        onDue(
          held,
          kind === "timeout"
            ? {
              kind: "timeout",
              job: held.job,
              timeoutMs: held.job.timeoutMs,
              runMs: Date.now() - (held.startedAt ?? Date.now()),
            }
            : { kind: "cancelled", job: held.job },
        );
      }
    });
  }

  /** Starts the timeout of `held`, which started at `at` (ms since epoch). */
  armTimeout(held: Held, at: number): void {
    held.armed = true;
    this.#queue.set(`t${held.run}`, at + held.job.timeoutMs, { held, kind: "timeout" });
  }

  /** Gives `held`, asked to abort, `graceMs` to stop. */
  armCancel(held: Held, graceMs: number): void {
    held.cancelling = true;
    this.#queue.set(`c${held.run}`, Date.now() + graceMs, { held, kind: "cancel" });
  }

  /** Clears a run's timeout and cancel grace. */
  forget(held: Held): void {
    if (held.armed) this.#queue.delete(`t${held.run}`);
    if (held.cancelling) this.#queue.delete(`c${held.run}`);
  }

  /** Clears every deadline and the timer. */
  close(): void {
    this.#queue.close();
  }
}
