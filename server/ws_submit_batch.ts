/**
 * The submits of one WebSocket client, admitted a burst at a time.
 *
 * A client that pipelines submits sends them faster than they are admitted
 * one by one: each `engine.submit` pays for its own room check, store insert
 * and promise chain. Deno delivers the messages already read from a socket
 * one after another with the microtasks of each run in between, so the
 * submits of one such burst are gathered here and admitted with one
 * `engine.submitBatch` once the burst is over, still in the same event-loop
 * turn (the engine then hands them to its workers in that turn too; a
 * `setImmediate` flush would leave that to the next turn, which measured
 * slower). Each submit is answered on its own, as before.
 *
 * @module
 */

import type { SubmitInput, Task } from "../engine/mod.ts";
import type { ServiceEngine } from "./engine_port.ts";

/** One validated submit waiting to be admitted. */
export interface PendingSubmit {
  /** The client's `ref`, echoed in the answer. */
  ref: unknown;
  input: SubmitInput;
  /** The byte payload as the client sent it (the input holds a copy that moves to a worker). */
  bytes?: Uint8Array;
}

/** Where the outcome of each submit goes. */
export interface SubmitAnswers {
  /** The task was admitted (or found by its idempotency key). */
  admitted(submit: PendingSubmit, task: Task): void;
  /** The engine refused it (unknown type, queue full, closing, …). */
  refused(submit: PendingSubmit, error: unknown): void;
}

/**
 * Gathers a client's submits until the burst of messages being delivered
 * ends, then admits them together.
 *
 * A batch is validated as a whole, so when the engine refuses one, nothing
 * of it was admitted and each submit is tried again on its own: every
 * submit gets exactly the answer it would have got alone (an error names
 * `priority`, not `tasks[3].priority`; a full queue takes the first ones
 * that fit). Submits with `dependsOn` go alone: in a batch `"#n"` would
 * name another submit of the burst.
 *
 * @example
 * ```ts ignore
 * const submits = new SubmitBatcher(engine, {
 *   admitted: (submit, task) => send({ type: "ack", ref: submit.ref, task }),
 *   refused: (submit, error) => sendError(submit.ref, error),
 * });
 * submits.add({ ref: 1, input: { type: "noop" } });
 * ```
 */
export class SubmitBatcher {
  readonly #engine: Pick<ServiceEngine, "submit" | "submitBatch">;
  readonly #answers: SubmitAnswers;
  #pending: PendingSubmit[] = [];
  /** A submit arrived since the last look: the burst may not be over. */
  #arrived = false;
  #watching = false;

  constructor(engine: Pick<ServiceEngine, "submit" | "submitBatch">, answers: SubmitAnswers) {
    this.#engine = engine;
    this.#answers = answers;
  }

  /** Submits waiting for their burst to end. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Queues a validated submit; it is admitted once the current burst of messages ends. */
  add(submit: PendingSubmit): void {
    if (submit.input.dependsOn !== undefined) {
      this.flush();
      this.#admitAlone(submit);
      return;
    }
    this.#pending.push(submit);
    this.#arrived = true;
    if (!this.#watching) {
      this.#watching = true;
      queueMicrotask(() => this.#watch());
    }
  }

  /**
   * Admits the waiting submits now: before a message of another kind, so
   * the engine sees the client's requests in the order they were sent.
   */
  flush(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    if (batch.length === 1) {
      this.#admitAlone(batch[0]);
      return;
    }
    this.#engine.submitBatch(batch.map((submit) => submit.input), { outcomes: true }).then(
      (results) => {
        for (let i = 0; i < batch.length; i++) this.#answers.admitted(batch[i], results[i].task);
      },
      // Refused as a whole, so nothing was admitted: each gets its own answer.
      () => {
        for (const submit of batch) this.#admitAlone(submit);
      },
    );
  }

  /**
   * Runs once the microtasks queued so far have run. The next message of a
   * burst is dispatched from a microtask queued before this look, so while
   * submits keep arriving the look is queued again; when one finds none
   * arrived, the burst is over.
   */
  #watch(): void {
    if (this.#arrived && this.#pending.length > 0) {
      this.#arrived = false;
      queueMicrotask(() => this.#watch());
      return;
    }
    this.#watching = false;
    this.#arrived = false;
    this.flush();
  }

  #admitAlone(submit: PendingSubmit): void {
    this.#engine.submit(submit.input).then(
      (task) => this.#answers.admitted(submit, task),
      (error) => this.#answers.refused(submit, error),
    );
  }
}
