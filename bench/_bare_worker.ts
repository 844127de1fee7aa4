/**
 * The bare ceiling for the pool benchmark: a plain module worker that answers
 * each task the way a pool worker minimally must, with no queue, no store and
 * no events around it. A `noop` echoes its payload; a `fib` runs the same
 * handler module ThreadFlow's workers run.
 *
 * A message is one task `{ id, type, payload }` or an array of them; the
 * answer is `{ id, ok, result }` or an array of those, in the same order.
 *
 * @module
 */

import fib from "../workers/tasks/fib.ts";

/** One task as the benchmark sends it. */
export interface BareTask {
  id: string;
  type: string;
  payload: unknown;
}

/** The answer to one task. */
export interface BareResult {
  id: string;
  ok: true;
  result: unknown;
}

function answer(task: BareTask): BareResult {
  const result = task.type === "fib" ? fib(task.payload) : task.payload;
  return { id: task.id, ok: true, result };
}

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<BareTask | BareTask[]>) => void) | null;
  postMessage(message: BareResult | BareResult[]): void;
};

scope.onmessage = (event) => {
  const message = event.data;
  if (Array.isArray(message)) {
    const results = new Array<BareResult>(message.length);
    for (let i = 0; i < message.length; i++) results[i] = answer(message[i]);
    scope.postMessage(results);
  } else {
    scope.postMessage(answer(message));
  }
};
