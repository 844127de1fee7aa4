/**
 * A batch submitter for the HTTP benchmark's part (f), in its own process
 * so its CPU time is not the server's: submits batches of `SIZE` no-op
 * tasks to `URL/api/tasks/batch`, one at a time, until its standard input
 * closes, then prints how many batches went in and exits.
 *
 * ```sh
 * deno run --allow-net bench/_batch_client.ts http://127.0.0.1:8081 10000
 * ```
 *
 * @module
 */

const [url, size] = Deno.args;
const body = JSON.stringify({
  tasks: Array.from({ length: Number(size) }, (_, i) => ({ type: "noop", payload: i })),
});
let stop = false;
let batches = 0;
const submitting = (async () => {
  while (!stop) {
    const response = await fetch(`${url}/api/tasks/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`Batch submit answered ${response.status}.`);
    batches++;
  }
})();
// Standard input closing is the signal to stop.
for await (const _ of Deno.stdin.readable) { /* nothing is sent: wait for the end */ }
stop = true;
await submitting;
console.log(batches);
