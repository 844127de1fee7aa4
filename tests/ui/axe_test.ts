/**
 * axe-core on every page of the dashboard, light and dark, at 1280 and 360
 * px: no violations, with the pages holding real data (failed tasks with
 * stacks, bytes, running work) and live.
 */

import { assertEquals } from "./_assert.ts";
import { browserMissing, launchBrowser, startUiService } from "./_browser.ts";
import { axeViolations, shot, watchConsole } from "./_page.ts";

const missing = browserMissing();

Deno.test({
  name: "axe-core finds no violations on any page, light and dark, at 1280 and 360 px",
  ignore: missing !== undefined,
  async fn(t) {
    const ui = await startUiService();
    const browser = await launchBrowser();
    try {
      const failed = await ui.engine.submit({ type: "fib", payload: { n: "not a number" } });
      const bytes = await ui.engine.submit({
        type: "gzip",
        payload: new TextEncoder().encode("hello ".repeat(200)),
      });
      await Promise.all([ui.engine.wait(failed.id), ui.engine.wait(bytes.id)]);
      await ui.engine.submitBatch(
        Array.from({ length: 30 }, (_, i) => ({ type: "noop", payload: i, priority: 1 + i % 10 })),
      );
      const sleeper = await ui.engine.submit({ type: "sleep", payload: { ms: 60_000 } });
      const child = await ui.engine.submit({ type: "noop", dependsOn: [sleeper.id] });
      await ui.engine.pauseType("gzip");
      await ui.engine.setTypeLimits("sha256", { concurrency: 2, ratePerSecond: 10 });
      await ui.engine.submit({ type: "noop", payload: "later", delayMs: 600_000 });
      await ui.engine.schedules.create({
        name: "nightly",
        cron: "0 3 * * *",
        timezone: "Europe/Paris",
        task: { type: "noop" },
      });
      await ui.engine.schedules.create({
        name: "paused-beat",
        cron: "@every 30s",
        task: { type: "fib", payload: { n: 10 }, priority: 9 },
        overlap: "skip",
        paused: true,
      });
      const pages = [
        ["/", "overview"],
        ["/?window=3600", "overview-hour"],
        ["/tasks", "tasks"],
        [`/tasks?status=failed`, "tasks-failed"],
        [`/tasks/${failed.id}`, "task-failed"],
        [`/tasks/${bytes.id}`, "task-bytes"],
        ["/tasks/0192c0de-0000-7000-8000-000000000000", "task-missing"],
        ["/schedules", "schedules"],
        ["/types", "types"],
        [`/tasks/${failed.id}/retry`, "task-retry"],
        ["/tasks?sort=priority&id=0", "tasks-sorted"],
        [`/tasks/${child.id}`, "task-blocked"],
        [`/tasks/${sleeper.id}`, "task-parent"],
      ];
      for (const width of [1280, 360]) {
        for (const scheme of ["light", "dark"] as const) {
          await t.step(`${width} px, ${scheme}`, async () => {
            const context = await browser.newContext({
              viewport: { width, height: 900 },
              colorScheme: scheme,
            });
            const page = await context.newPage();
            const console = watchConsole(page);
            console.expect(/status of 404/);
            const found: string[] = [];
            for (const [path, name] of pages) {
              await page.goto(`${ui.url}${path}`);
              await page.waitForSelector('.conn[data-state="live"]');
              for (const violation of await axeViolations(page)) {
                found.push(`${path}: ${violation}`);
              }
              await shot(page, `axe-${name}-${width}-${scheme}.png`);
            }
            assertEquals(found, []);
            assertEquals(console.errors, []);
            await context.close();
          });
        }
      }
    } finally {
      await browser.close();
      await ui.close();
    }
  },
});

Deno.test({
  name: "axe-core finds no violations on the token page, nor while the page is not live",
  ignore: missing !== undefined,
  async fn() {
    const ui = await startUiService({ args: ["--token", "s3cret-token"] });
    const browser = await launchBrowser();
    try {
      for (const scheme of ["light", "dark"] as const) {
        const context = await browser.newContext({
          viewport: { width: 360, height: 800 },
          colorScheme: scheme,
        });
        const page = await context.newPage();
        const console = watchConsole(page);
        console.expect(/status of 401/);
        console.expect(/status of 503/);
        console.expect(/WebSocket connection to .* failed/);
        await page.goto(`${ui.url}/`);
        await page.waitForSelector(".token-form");
        assertEquals(await axeViolations(page), [], "the token page");
        await page.fill("#tf-token", "s3cret-token");
        await Promise.all([page.waitForEvent("load"), page.click("text=Unlock")]);
        await page.waitForSelector('.conn[data-state="live"]');
        ui.refuseWebSockets = true;
        ui.killWebSockets();
        await page.waitForSelector("[data-stale]");
        assertEquals(await axeViolations(page), [], "a page that is not live");
        await shot(page, `axe-stale-360-${scheme}.png`);
        ui.refuseWebSockets = false;
        await page.waitForSelector('.conn[data-state="live"]', { timeout: 20_000 });
        assertEquals(console.errors, []);
        await context.close();
      }
    } finally {
      await browser.close();
      await ui.close();
    }
  },
});
