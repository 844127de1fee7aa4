import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { SubmitInput, SubmitResult, Task } from "../../engine/mod.ts";
import { type PendingSubmit, SubmitBatcher } from "../../server/ws_submit_batch.ts";

/** An engine that records how it was called and refuses the inputs `refuse` picks. */
function fakeEngine(refuse: (input: SubmitInput) => boolean = () => false) {
  const calls: string[] = [];
  let next = 0;
  const admit = (input: SubmitInput) => {
    if (refuse(input)) throw new Error(`refused ${String(input.payload)}`);
    return { id: `t${next++}`, payload: input.payload } as unknown as Task;
  };
  const engine = {
    submit(input: SubmitInput): Promise<Task> {
      calls.push(`submit ${String(input.payload)}`);
      return Promise.resolve().then(() => admit(input));
    },
    submitBatch(inputs: SubmitInput[]): Promise<SubmitResult[]> {
      calls.push(`batch ${inputs.map((input) => String(input.payload)).join(",")}`);
      return Promise.resolve().then(() => {
        if (inputs.some(refuse)) throw new Error("refused as a whole");
        return inputs.map((input) => ({ task: admit(input), created: true }));
      });
    },
  };
  return { engine, calls };
}

function recorder() {
  const answers: string[] = [];
  const done = Promise.withResolvers<void>();
  let expected = Infinity;
  const note = (answer: string) => {
    answers.push(answer);
    if (answers.length >= expected) done.resolve();
  };
  return {
    answers,
    /** Resolves once `count` answers are in. */
    until(count: number): Promise<void> {
      expected = count;
      if (answers.length >= count) done.resolve();
      return done.promise;
    },
    admitted: (submit: PendingSubmit, task: Task) => note(`ack ${submit.ref} ${task.id}`),
    refused: (submit: PendingSubmit, error: unknown) =>
      note(`error ${submit.ref} ${(error as Error).message}`),
  };
}

const submit = (n: number, extra: Partial<SubmitInput> = {}): PendingSubmit => ({
  ref: n,
  input: { type: "noop", payload: n, ...extra },
});

Deno.test("SubmitBatcher admits the submits of one burst with one submitBatch, answering each in order", async () => {
  const { engine, calls } = fakeEngine();
  const answers = recorder();
  const submits = new SubmitBatcher(engine, answers);
  submits.add(submit(1));
  submits.add(submit(2));
  // A message delivered after a microtask still belongs to the burst.
  await Promise.resolve();
  submits.add(submit(3));
  await answers.until(3);
  assertEquals(calls, ["batch 1,2,3"]);
  assertEquals(answers.answers, ["ack 1 t0", "ack 2 t1", "ack 3 t2"]);
});

Deno.test("SubmitBatcher sends a lone submit through submit", async () => {
  const { engine, calls } = fakeEngine();
  const answers = recorder();
  new SubmitBatcher(engine, answers).add(submit(7));
  await answers.until(1);
  assertEquals(calls, ["submit 7"]);
  assertEquals(answers.answers, ["ack 7 t0"]);
});

Deno.test("SubmitBatcher: a batch the engine refuses is tried again one by one, each with its own answer", async () => {
  const { engine, calls } = fakeEngine((input) => input.payload === 2);
  const answers = recorder();
  const submits = new SubmitBatcher(engine, answers);
  for (const n of [1, 2, 3]) submits.add(submit(n));
  await answers.until(3);
  assertEquals(calls, ["batch 1,2,3", "submit 1", "submit 2", "submit 3"]);
  assertEquals(answers.answers.toSorted(), ["ack 1 t0", "ack 3 t1", "error 2 refused 2"]);
});

Deno.test("SubmitBatcher: dependsOn submits go alone, after the ones before them; flush admits at once", async () => {
  const { engine, calls } = fakeEngine();
  const answers = recorder();
  const submits = new SubmitBatcher(engine, answers);
  submits.add(submit(1));
  submits.add(submit(2));
  submits.add(submit(3, { dependsOn: ["#0"] }));
  submits.add(submit(4));
  submits.flush();
  assertEquals(calls, ["batch 1,2", "submit 3", "submit 4"]);
  assertEquals(submits.pending, 0);
  await answers.until(4);
});
