import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../../../server/app_env.ts";
import { createLogger } from "../../../server/logger.ts";
import { HttpMetrics } from "../../../server/metrics.ts";
import { requestMetrics } from "../../../server/middleware/request_metrics.ts";

Deno.test("requestMetrics counts by route pattern and status and logs at debug", async () => {
  const metrics = new HttpMetrics();
  const lines: string[] = [];
  const logger = createLogger({
    level: "debug",
    format: "json",
    write: (line) => lines.push(line),
  });
  const app = new Hono<AppEnv>().use(requestMetrics(metrics, logger));
  app.get("/tasks/:id", (c) => c.json({ id: c.req.param("id") }));
  for (const id of ["a", "b"]) await (await app.request(`/tasks/${id}`)).body?.cancel();
  await (await app.request("/missing")).body?.cancel();
  assertEquals(metrics.count("GET", "/tasks/:id", 200), 2);
  assertEquals(metrics.count("GET", "unmatched", 404), 1);
  assertEquals(lines.length, 3);
  assertEquals(JSON.parse(lines[0]).route, "/tasks/:id");
  const text = metrics.render();
  assert(
    text.includes('threadflow_http_requests_total{method="GET",route="/tasks/:id",status="200"} 2'),
  );
  assert(text.includes('threadflow_http_request_duration_seconds_bucket{le="+Inf"} 3'));
});
