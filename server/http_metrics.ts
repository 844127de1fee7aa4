/**
 * HTTP request metrics kept by the service: a counter per method, route
 * pattern and status, and one histogram of answer times.
 *
 * @module
 */

import { histogramLines, labels } from "./prometheus_text.ts";

/** Upper bounds of the HTTP duration histogram, in seconds. */
const HTTP_BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods counted under their own name; any other is counted as `OTHER`. */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "CONNECT",
  "TRACE",
]);

/**
 * The `method` label of a request: the method itself when it is one of
 * RFC 9110's (and PATCH), else `OTHER`, so made-up methods cannot create
 * series without end.
 *
 * @example
 * ```ts
 * import { methodLabel } from "./http_metrics.ts";
 * methodLabel("GET"); // "GET"
 * methodLabel("FOO"); // "OTHER"
 * ```
 */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : "OTHER";
}

interface RouteCounter {
  method: string;
  route: string;
  status: number;
  count: number;
}

/**
 * Counts HTTP requests by method, route pattern and status, and their
 * durations in one histogram.
 *
 * @example
 * ```ts
 * import { HttpMetrics } from "./http_metrics.ts";
 * const metrics = new HttpMetrics();
 * metrics.record("GET", "/api/tasks/:id", 200, 1.5);
 * ```
 */
export class HttpMetrics {
  /** Counters by route, then found by method and status: no key string built per request. */
  #byRoute = new Map<string, RouteCounter[]>();
  /** Every counter, in the order first seen (the order `/metrics` lists them). */
  #counters: RouteCounter[] = [];
  #buckets = new Array<number>(HTTP_BOUNDS.length + 1).fill(0);
  #sum = 0;
  #count = 0;

  /** Records one finished request; `durationMs` in milliseconds. */
  record(rawMethod: string, route: string, status: number, durationMs: number): void {
    const method = methodLabel(rawMethod);
    const counter = this.#counter(method, route, status);
    if (counter) counter.count++;
    else {
      const added = { method, route, status, count: 1 };
      this.#counters.push(added);
      const same = this.#byRoute.get(route);
      if (same) same.push(added);
      else this.#byRoute.set(route, [added]);
    }
    const seconds = durationMs / 1000;
    let bucket = 0;
    while (bucket < HTTP_BOUNDS.length && seconds > HTTP_BOUNDS[bucket]) bucket++;
    this.#buckets[bucket]++;
    this.#sum += seconds;
    this.#count++;
  }

  /** Requests counted so far for a route and status (for tests). */
  count(method: string, route: string, status: number): number {
    return this.#counter(methodLabel(method), route, status)?.count ?? 0;
  }

  #counter(method: string, route: string, status: number): RouteCounter | undefined {
    const same = this.#byRoute.get(route);
    if (same === undefined) return undefined;
    for (const counter of same) {
      if (counter.status === status && counter.method === method) return counter;
    }
    return undefined;
  }

  /** The metrics in Prometheus text format. */
  render(): string {
    const lines = [
      "# HELP threadflow_http_requests_total HTTP requests answered, by method, route and status.",
      "# TYPE threadflow_http_requests_total counter",
    ];
    for (const counter of this.#counters) {
      lines.push(
        `threadflow_http_requests_total${
          labels({
            method: counter.method,
            route: counter.route,
            status: String(counter.status),
          })
        } ${counter.count}`,
      );
    }
    lines.push(
      "# HELP threadflow_http_request_duration_seconds Time to answer HTTP requests.",
      "# TYPE threadflow_http_request_duration_seconds histogram",
      ...histogramLines(
        "threadflow_http_request_duration_seconds",
        HTTP_BOUNDS,
        this.#buckets,
        this.#sum,
        this.#count,
      ),
    );
    return lines.join("\n") + "\n";
  }
}
