/**
 * The HTTP benchmark's part (e): what one open dashboard costs the server.
 * Server CPU per `POST /api/tasks` with one subscriber of every event in
 * another process (`_subscriber.ts`), with a frame per message and with
 * batch frames, against none.
 *
 * @module
 */

import type { BenchRow } from "./_report.ts";
import { ENGINE_WORKERS, startService } from "./_http_service.ts";
import {
  benchScript,
  CONNECTIONS,
  HTTP_ROUNDS,
  HTTP_SECONDS,
  load,
  type LoadFigures,
  median,
  readUntil,
} from "./_load.ts";
import type { SubscriberCounts } from "./_subscriber.ts";

/** A subscriber process (`_subscriber.ts`) and how to stop it and read its counts. */
async function subscribe(url: string): Promise<() => Promise<SubscriberCounts>> {
  const child = benchScript("./_subscriber.ts", [url], "piped").spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ready = await readUntil(lines, "ready\n");
  if (ready === undefined) {
    await child.stdin.close();
    await child.status;
    throw new Error(`The subscriber at ${url} stopped before it subscribed.`);
  }
  return async () => {
    await child.stdin.close();
    let text = ready;
    for (let read = await lines.read(); !read.done; read = await lines.read()) text += read.value;
    await child.status;
    return JSON.parse(text.slice(text.indexOf("ready\n") + 6)) as SubscriberCounts;
  };
}

/**
 * (e) What one open dashboard costs the server: `POST /api/tasks` of no-op
 * tasks with one subscriber of every event in another process, with a frame
 * per message and with batch frames (`?batch=1`, what the dashboard asks),
 * against none.
 */
export async function measureSubscriber(
  rows: BenchRow[],
  details: Record<string, unknown>,
): Promise<void> {
  const modes = ["none", "plain", "batch"] as const;
  const runs: Record<string, LoadFigures[]> = { none: [], plain: [], batch: [] };
  const frames: Record<string, number[]> = { plain: [], batch: [] };
  for (let round = 0; round < HTTP_ROUNDS; round++) {
    // A fresh service each time: the memory store keeps every task, and a heap grown by the
    // runs before would cost the later ones more.
    for (const mode of modes) {
      const service = await startService(ENGINE_WORKERS);
      try {
        const submit = `${service.url}/api/tasks`;
        await load(submit, 1, CONNECTIONS, true);
        const stop = mode === "none"
          ? undefined
          : await subscribe(mode === "batch" ? `${service.ws}?batch=1` : service.ws);
        let figures: LoadFigures;
        try {
          figures = await load(submit, HTTP_SECONDS, CONNECTIONS, true);
        } finally {
          // The subscriber exits once asked, even when the load failed.
          const counts = await stop?.();
          if (counts !== undefined) frames[mode].push(counts.frames);
        }
        runs[mode].push(figures);
        if (mode !== "none") frames[mode][round] /= figures.requests;
      } finally {
        await service.close();
      }
    }
  }
  details.subscriber = { runs, framesPerTask: frames };
  const cpu = (mode: string) => median(runs[mode].map((run) => run.cpuUsPerRequest));
  for (const [mode, label] of [["plain", "a frame per message"], ["batch", "?batch=1"]]) {
    rows.push({
      name: `(e) POST /api/tasks noop with one subscriber of all events, ${label}, CPU per request`,
      value: cpu(mode),
      unit: "µs",
      baseline: `no subscriber ${cpu("none").toFixed(1)} µs; ${
        median(frames[mode]).toFixed(2)
      } frames per task`,
      ratio: cpu(mode) / cpu("none"),
    });
  }
}
