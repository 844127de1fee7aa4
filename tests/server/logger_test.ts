import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createLogger } from "../../server/logger.ts";

Deno.test("json logs are one object per line with time, level, msg and fields", () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", format: "json", write: (line) => lines.push(line) });
  logger.debug("hidden");
  logger.info("task.succeeded", { taskId: "t1", error: new TypeError("boom") });
  assertEquals(lines.length, 1);
  const record = JSON.parse(lines[0]);
  assertEquals(record.level, "info");
  assertEquals(record.msg, "task.succeeded");
  assertEquals(record.taskId, "t1");
  assertEquals(record.error, { name: "TypeError", message: "boom" });
  assert(!Number.isNaN(Date.parse(record.time)));
});

Deno.test("pretty logs put the level and key=value fields on one line", () => {
  const lines: string[] = [];
  const logger = createLogger({
    level: "warn",
    format: "pretty",
    write: (line) => lines.push(line),
  });
  logger.info("hidden");
  logger.warn("Slow client", { id: 7, reason: "read nothing" });
  assertEquals(lines.length, 1);
  assert(
    /^\d\d:\d\d:\d\d\.\d{3} WARN {2}Slow client id=7 reason="read nothing"$/.test(lines[0]),
    lines[0],
  );
  assert(logger.enabled("error") && !logger.enabled("info"));
});
