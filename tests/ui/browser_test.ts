/**
 * The dashboard in a real browser against the real service: hydration, the
 * submit form, live status and progress, cancel, filter, reconnect.
 * Screenshots of each page go to tests/screenshots/ (git-ignored).
 */

import { assert, assertEquals } from "./_assert.ts";
import { browserMissing, launchBrowser, SCREENSHOTS, startUiService } from "./_browser.ts";
import { shot, watchConsole } from "./_page.ts";

const missing = browserMissing();

Deno.test({
  name: "dashboard in Chromium: live overview, submit, progress, cancel, filter, reconnect",
  ignore: missing !== undefined,
  async fn(t) {
    const ui = await startUiService();
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const console = watchConsole(page);

      await t.step("the overview renders and goes live", async () => {
        await page.goto(`${ui.url}/`);
        assertEquals(await page.title(), "Overview · ThreadFlow");
        await page.waitForSelector('.conn[data-state="live"]');
        assertEquals(await page.locator("[data-counter=queued]").textContent(), "0");
        assertEquals(await page.locator(".worker").count(), 2);
        // Frames are received off the main thread, by the socket worker.
        const loaded = await page.evaluate(() =>
          performance.getEntriesByType("resource").map((entry) => entry.name)
        );
        assert(loaded.some((name) => name.includes("/islands/socket-worker-")), loaded.join());
      });

      await t.step("a sleep task from the form goes queued → running → succeeded", async () => {
        // Keep both workers busy so the new task is seen waiting in the queue.
        for (let i = 0; i < 2; i++) {
          await ui.engine.submit({ type: "sleep", payload: { ms: 4000 }, priority: 10 });
        }
        await page.selectOption("#submit-type", "sleep");
        await page.fill("#submit-payload", '{ "ms": 2500 }');
        await page.fill("#submit-priority", "3");
        await page.click(".submit-form button[type=submit]");
        const link = page.locator(".submit-actions a");
        await link.waitFor();
        const id = (await link.getAttribute("href"))!.split("/").pop()!;
        const row = `.tasks tr[data-task="${id}"]`;
        await page.waitForSelector(`${row}[data-status="queued"]`);
        await page.waitForSelector(`${row}[data-status="running"]`);
        const bar = page.locator(`${row} progress`);
        await page.waitForFunction(
          (sel) => Number(document.querySelector<HTMLProgressElement>(sel)?.value ?? 0) > 0,
          `${row} progress`,
        );
        const first = Number(await bar.getAttribute("value"));
        await shot(page, "overview-running.png");
        await page.waitForFunction(
          ([sel, start]) =>
            Number(document.querySelector<HTMLProgressElement>(sel as string)?.value ?? 0) >
              (start as number),
          [`${row} progress`, first] as const,
        );
        await page.waitForSelector(`${row}[data-status="succeeded"]`, { timeout: 15_000 });
        assertEquals((await ui.engine.get(id))?.status, "succeeded");
        await page.waitForFunction(() =>
          Number(document.querySelector("[data-counter=succeeded]")?.textContent) >= 3
        );
        await shot(page, "overview.png");
        await page.locator(".charts").screenshot({
          path: new URL("charts.png", SCREENSHOTS).pathname,
        });
      });

      await t.step("the form shows the server's field error", async () => {
        await page.fill("#submit-payload", "{ not json");
        assert(await page.locator("#submit-payload-error").isVisible());
        await page.fill("#submit-payload", '{ "ms": 10 }');
        await page.fill("#submit-priority", "11");
        console.expect(/status of 400/);
        await page.click(".submit-form button[type=submit]");
        await page.waitForSelector("#submit-priority-error");
        assertEquals(await page.getAttribute("#submit-priority", "aria-invalid"), "true");
        await page.fill("#submit-priority", "5");
      });

      await t.step("a running task is cancelled from its page", async () => {
        const task = await ui.engine.submit({ type: "sleep", payload: { ms: 60_000 } });
        await page.goto(`${ui.url}/tasks/${task.id}`);
        await page.waitForSelector('.conn[data-state="live"]');
        await page.waitForSelector('.task-detail[data-status="running"]');
        await page.click("text=Cancel task");
        await page.waitForSelector('.task-detail[data-status="cancelled"]');
        await page.waitForSelector("text=Retry task");
        assertEquals((await ui.engine.get(task.id))?.status, "cancelled");
        await shot(page, "task.png");
      });

      await t.step("a failed task shows its error and stack; bytes show as hex", async () => {
        const bad = await ui.engine.submit({ type: "fib", payload: { n: "x" } });
        await ui.engine.wait(bad.id);
        await page.goto(`${ui.url}/tasks/${bad.id}`);
        await page.waitForSelector('.task-detail[data-status="failed"] .error-box pre');
        await shot(page, "task-failed.png");
        const bytes = await ui.engine.submit({
          type: "gzip",
          payload: new TextEncoder().encode("hello ".repeat(200)),
        });
        await ui.engine.wait(bytes.id);
        await page.goto(`${ui.url}/tasks/${bytes.id}`);
        await page.waitForSelector("text=1.2 KiB of bytes");
        await page.waitForSelector("text=1f 8b");
        await shot(page, "task-bytes.png");
      });

      await t.step("the task table filters by status", async () => {
        await ui.engine.submit({ type: "noop", payload: 1 });
        await page.goto(`${ui.url}/tasks`);
        await page.selectOption("#f-status", "succeeded");
        await Promise.all([page.waitForURL(/status=succeeded/), page.click("text=Filter")]);
        const statuses = await page.locator(".tasks tbody tr").evaluateAll((rows) =>
          rows.map((row) => row.getAttribute("data-status"))
        );
        assert(statuses.length >= 3, `rows: ${statuses.length}`);
        assert(statuses.every((s) => s === "succeeded"), statuses.join());
        await page.waitForSelector('.conn[data-state="live"]');
        // A new matching task appears without a reload.
        const fresh = await ui.engine.submit({ type: "noop", payload: 2 });
        await ui.engine.wait(fresh.id);
        await page.waitForSelector(`.tasks tr[data-task="${fresh.id}"][data-status="succeeded"]`);
        await shot(page, "tasks.png");
      });

      await t.step("bulk cancel of the filtered set, then retry from a row", async () => {
        const later = await ui.engine.submitBatch(
          Array.from({ length: 5 }, (_, i) => ({ type: "noop", payload: i, delayMs: 600_000 })),
        );
        await page.goto(`${ui.url}/tasks?status=scheduled`);
        await page.waitForSelector('.conn[data-state="live"]');
        assertEquals(await page.locator(".tasks tbody tr").count(), 5);
        page.once("dialog", (dialog) => dialog.accept());
        await page.click("text=Cancel all matching");
        await page.waitForSelector("text=Cancelled 5 tasks.");
        for (const task of later) {
          assertEquals((await ui.engine.get(task.id))?.status, "cancelled");
        }
        // They leave the scheduled view live.
        await page.waitForSelector("text=No tasks match.");
        await page.goto(`${ui.url}/tasks?status=cancelled&type=noop`);
        const id = later[0].id;
        await page.click(`button[aria-label="Retry task ${id}"]`);
        await page.waitForSelector(`text=Task ${id.slice(-12)}: retry accepted.`);
        assertEquals((await ui.engine.wait(id)).status, "succeeded");
        await page.waitForSelector(`.tasks tr[data-task="${id}"]`, { state: "detached" });
      });

      await t.step("a killed WebSocket shows in the indicator and reconnects", async () => {
        await page.goto(`${ui.url}/`);
        await page.waitForSelector('.conn[data-state="live"]');
        console.expect(/WebSocket connection to .* failed/);
        console.expect(/status of 503/);
        ui.refuseWebSockets = true;
        ui.killWebSockets();
        await page.waitForSelector('.conn[data-state="reconnecting"]');
        await shot(page, "reconnecting.png");
        ui.refuseWebSockets = false;
        await page.waitForSelector('.conn[data-state="live"]', { timeout: 15_000 });
        const task = await ui.engine.submit({ type: "noop", payload: "after reconnect" });
        await page.waitForSelector(`.tasks tr[data-task="${task.id}"]`);
      });

      await t.step("narrow (360 px) and dark renders", async () => {
        const narrow = await browser.newContext({
          viewport: { width: 360, height: 800 },
          colorScheme: "dark",
        });
        const small = await narrow.newPage();
        const smallConsole = watchConsole(small);
        for (const [path, name] of [["/", "overview"], ["/tasks", "tasks"]]) {
          await small.goto(`${ui.url}${path}`);
          await small.waitForSelector('.conn[data-state="live"]');
          await shot(small, `${name}-360-dark.png`);
          const overflow = await small.evaluate(() =>
            document.documentElement.scrollWidth - document.documentElement.clientWidth
          );
          assertEquals(overflow, 0, `${path} scrolls sideways at 360 px`);
        }
        assertEquals(smallConsole.errors, []);
        await narrow.close();
      });

      await t.step("without the socket worker the page holds the socket itself", async () => {
        const blocked = await browser.newContext();
        await blocked.route("**/islands/socket-worker-*", (route) => route.abort());
        const direct = await blocked.newPage();
        const sockets: string[] = [];
        direct.on("websocket", (socket) => sockets.push(socket.url()));
        await direct.goto(`${ui.url}/`);
        await direct.waitForSelector('.conn[data-state="live"]');
        // Batch frames: a server turn's events come in one frame.
        assert(sockets.length > 0);
        for (const url of sockets) assertEquals(new URL(url).searchParams.get("batch"), "1");
        // Six, so all show among the overview's eight most recent.
        const tasks = await ui.engine.submitBatch(
          Array.from({ length: 6 }, (_, i) => ({ type: "noop", payload: `direct ${i}` })),
        );
        for (const task of tasks) {
          await direct.waitForSelector(
            `.tasks tr[data-task="${task.id}"][data-status="succeeded"]`,
          );
        }
        await blocked.close();
      });

      await t.step(
        "controls are labelled and reachable by keyboard with visible focus",
        async () => {
          for (const path of ["/", "/tasks"]) {
            await page.goto(`${ui.url}${path}`);
            await page.waitForSelector('.conn[data-state="live"]');
            const unlabelled = await page.evaluate(() =>
              [...document.querySelectorAll("input, select, textarea, button")]
                .filter((el) => {
                  const labels = (el as HTMLInputElement).labels;
                  const named = el.getAttribute("aria-label") || el.textContent?.trim();
                  return !(labels && labels.length > 0) && !named;
                })
                .map((el) => el.outerHTML.slice(0, 80))
            );
            assertEquals(unlabelled, [], `${path} has controls without a label`);
          }
          await page.goto(`${ui.url}/`);
          await page.waitForSelector('.conn[data-state="live"]');
          await page.keyboard.press("Tab");
          assertEquals(
            await page.evaluate(() => document.activeElement?.textContent),
            "Skip to content",
          );
          for (let i = 0; i < 4; i++) await page.keyboard.press("Tab");
          const outline = await page.evaluate(() => {
            const style = getComputedStyle(document.activeElement!);
            return `${style.outlineStyle} ${style.outlineWidth}`;
          });
          assertEquals(outline, "solid 3px");
        },
      );

      await t.step("with JavaScript off the pages still show the data", async () => {
        const noScript = await browser.newContext({ javaScriptEnabled: false });
        const still = await noScript.newPage();
        await still.goto(`${ui.url}/`);
        assert(Number(await still.locator("[data-counter=succeeded]").textContent()) >= 3);
        assertEquals(await still.locator(".conn").getAttribute("data-state"), "offline");
        assert(await still.locator(".tasks tbody tr").count() > 0);
        await still.goto(`${ui.url}/tasks?status=cancelled`);
        assert(await still.locator('.tasks tr[data-status="cancelled"]').count() >= 1);
        await shot(still, "tasks-no-js.png");
        await noScript.close();
      });

      assertEquals(console.errors, []);
      await context.close();
    } finally {
      await browser.close();
      await ui.close();
    }
  },
});

Deno.test({
  name: "dashboard in Chromium with --token: asks once, keeps it for the tab, goes live",
  ignore: missing !== undefined,
  async fn() {
    const ui = await startUiService({ args: ["--token", "s3cret-token"] });
    const browser = await launchBrowser();
    try {
      const task = await ui.engine.submit({ type: "noop", payload: "behind the token" });
      await ui.engine.wait(task.id);
      const context = await browser.newContext();
      const page = await context.newPage();
      const console = watchConsole(page);
      // The locked page answers 401 and the first socket is refused: both expected.
      console.expect(/status of 401/);
      console.expect(/WebSocket connection to .* failed/);
      await page.goto(`${ui.url}/`);
      await page.waitForSelector('.conn[data-state="unauthorized"], .conn-unauthorized');
      assertEquals(await page.locator("text=behind the token").count(), 0);
      await shot(page, "token.png");
      await page.fill("#tf-token", "s3cret-token");
      await Promise.all([page.waitForEvent("load"), page.click("text=Unlock")]);
      await page.waitForSelector('.conn[data-state="live"]');
      assertEquals(await page.locator(`tr[data-task="${task.id}"]`).count(), 1);
      // Another page of the same tab needs no second prompt, and actions carry the token.
      const sleeper = await ui.engine.submit({ type: "sleep", payload: { ms: 60_000 } });
      await page.goto(`${ui.url}/tasks/${sleeper.id}`);
      await page.waitForSelector('.conn[data-state="live"]');
      await page.waitForSelector('.task-detail[data-status="running"]');
      await page.click("text=Cancel task");
      await page.waitForSelector('.task-detail[data-status="cancelled"]');
      assertEquals(console.errors, []);
      await context.close();
    } finally {
      await browser.close();
      await ui.close();
    }
  },
});
