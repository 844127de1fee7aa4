/**
 * The HTTP benchmark's load generator when wrk is not installed: a separate
 * process, so the server's CPU time is its own. `connections` loops each
 * send a request and wait for its answer, for `seconds`.
 *
 * ```sh
 * deno run --allow-net bench/_http_load.ts '{"url":"http://127.0.0.1:8081/health","seconds":2,"connections":8}'
 * ```
 *
 * Prints one JSON line: `{ requests, errors, seconds, latenciesMs }` (latencies
 * sampled, at most 100,000).
 *
 * @module
 */

/** What one run is asked to do. */
export interface LoadRequest {
  url: string;
  seconds: number;
  connections: number;
  method?: string;
  body?: string;
}

/** What one run reports. */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
}

const SAMPLE_LIMIT = 100_000;

/**
 * Runs the load described by `request` and resolves with what it measured.
 *
 * @example
 * ```ts ignore
 * const result = await runLoad({ url: "http://127.0.0.1:8081/health", seconds: 1, connections: 4 });
 * ```
 */
export async function runLoad(request: LoadRequest): Promise<LoadResult> {
  const init: RequestInit = { method: request.method ?? "GET" };
  if (request.body !== undefined) {
    init.body = request.body;
    init.headers = { "content-type": "application/json" };
  }
  let requests = 0;
  let errors = 0;
  const latenciesMs: number[] = [];
  const started = performance.now();
  const deadline = started + request.seconds * 1000;
  await Promise.all(Array.from({ length: request.connections }, async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      const response = await fetch(request.url, init);
      await response.arrayBuffer();
      if (response.ok) requests++;
      else errors++;
      if (latenciesMs.length < SAMPLE_LIMIT) latenciesMs.push(performance.now() - sent);
    }
  }));
  return { requests, errors, seconds: (performance.now() - started) / 1000, latenciesMs };
}

if (import.meta.main) {
  console.log(JSON.stringify(await runLoad(JSON.parse(Deno.args[0]) as LoadRequest)));
}
