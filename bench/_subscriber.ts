/**
 * A dashboard-like WebSocket subscriber for the HTTP benchmark's part (e), in
 * its own process so its CPU time is not the server's: subscribes to every
 * event (and a stats snapshot a second, as the dashboard does), prints
 * `ready` once subscribed, and when its standard input closes prints one JSON
 * line `{ frames, messages }` and exits.
 *
 * ```sh
 * deno run --allow-net bench/_subscriber.ts 'ws://127.0.0.1:8081/ws?batch=1'
 * ```
 *
 * @module
 */

/** What the subscriber reports when its input closes. */
export interface SubscriberCounts {
  frames: number;
  messages: number;
}

const url = Deno.args[0];
const socket = new WebSocket(url, ["threadflow"]);
const counts: SubscriberCounts = { frames: 0, messages: 0 };
const subscribed = Promise.withResolvers<void>();
socket.onmessage = (event) => {
  const data = JSON.parse(event.data);
  counts.frames++;
  const messages = data.type === "batch" ? data.messages : [data];
  counts.messages += messages.length;
  if (messages.some((message: { type: string }) => message.type === "subscribed")) {
    subscribed.resolve();
  }
};
socket.onerror = () => subscribed.reject(new Error(`Could not subscribe at ${url}.`));
socket.onopen = () =>
  socket.send(JSON.stringify({ type: "subscribe", stats: { intervalMs: 1000 } }));
await subscribed.promise;
console.log("ready");
// Standard input closing is the signal to report.
for await (const _ of Deno.stdin.readable) { /* nothing is sent: wait for the end */ }
console.log(JSON.stringify(counts));
socket.close();
