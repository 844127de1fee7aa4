/**
 * Child process of tests/engine/schedules_engine_test.ts: a ThreadFlow engine
 * on a SQLite file with the schedule `beat` (`@every 1s`, catch-up `all`),
 * created when missing. Prints `FIRED <tick>` for each tick it fires, and
 * runs until killed.
 *
 * Usage: `deno run -A _schedule_crash_child.ts PATH`
 *
 * @module
 */

import { ThreadFlow } from "../../mod.ts";

const encoder = new TextEncoder();
const tf = await ThreadFlow.start({ workers: 1, store: `sqlite:${Deno.args[0]}` });
tf.on((event) => {
  if (event.type === "schedule.fired") {
    Deno.stdout.writeSync(encoder.encode(`FIRED ${event.tick}\n`));
  }
});
if (await tf.schedules.get("beat") === undefined) {
  await tf.schedules.create({
    name: "beat",
    cron: "@every 1s",
    task: { type: "noop" },
    catchUp: "all",
  });
}
Deno.stdout.writeSync(encoder.encode("READY\n"));
await new Promise(() => {}); // until SIGKILL
