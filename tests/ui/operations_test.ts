/**
 * The dashboard as an operations console, in Chromium against the real
 * service and real workers: history charts that survive a reload, the task
 * table's columns, bulk retry and cards at 360 px, worker cards with
 * four-digit counts, the submit panel's fields and status line, and honest
 * state (ticking uptime, the node after a restart, stale figures and paused
 * actions while disconnected).
 */

import type { Browser, Page } from "playwright-core";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { browserMissing, launchBrowser, startUiService, type UiService } from "./_browser.ts";
import { overflowing, shot, watchConsole } from "./_page.ts";

const missing = browserMissing();

/** Waits until nothing is queued or running. */
async function settle(ui: UiService): Promise<void> {
  for (;;) {
    const { counts } = await ui.engine.stats();
    if (counts.queued + counts.running === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the service's history holds a second with at least `n` tasks finished. */
async function historyShows(ui: UiService, n: number): Promise<void> {
  for (;;) {
    const answer = await (await fetch(`${ui.url}/api/history?window=300`)).json();
    if (answer.history.throughput.some((v: number | null) => (v ?? 0) >= n)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The message of the next dialog the page opens, answered with `answer`. */
function nextDialog(page: Page, answer: "accept" | "dismiss"): Promise<string> {
  return new Promise((resolve) =>
    page.once("dialog", (dialog) => {
      resolve(dialog.message());
      void dialog[answer]();
    })
  );
}

async function open(browser: Browser, width: number, scheme: "light" | "dark" = "light") {
  const context = await browser.newContext({
    viewport: { width, height: 900 },
    colorScheme: scheme,
  });
  const page = await context.newPage();
  return { context, page, console: watchConsole(page) };
}

Deno.test({
  name: "dashboard as an operations console: history, table, workers, submit, honest state",
  ignore: missing !== undefined,
  async fn(t) {
    const ui = await startUiService();
    const browser = await launchBrowser();
    try {
      const { context, page, console } = await open(browser, 1280);

      await t.step("charts come from the history: a burst survives a reload", async () => {
        await ui.engine.submitBatch(
          Array.from(
            { length: 400 },
            (_, i) => ({ type: "noop", payload: i, priority: 1 + i % 10 }),
          ),
        );
        await settle(ui);
        await historyShows(ui, 20);
        // Rendered by the server: with JavaScript off the burst is already drawn, with axes.
        const still = await browser.newContext({ javaScriptEnabled: false });
        const plain = await still.newPage();
        await plain.goto(`${ui.url}/`);
        const top = Number(
          (await plain.locator(".chart").first().locator(".chart-y span").first().textContent())!
            .replace(/\D/g, ""),
        );
        assert(top >= 20, `the throughput axis tops at ${top}`);
        assertEquals(
          await plain.locator(".chart").first().locator(".chart-x span").allTextContents(),
          ["−5 min", "−4 min", "−3 min", "−2 min", "−1 min", "now"],
        );
        assertStringIncludes(
          (await plain.locator(".chart path.line").first().getAttribute("d"))!,
          "L",
        );
        await still.close();
        await page.goto(`${ui.url}/`);
        await page.waitForSelector('.conn[data-state="live"]');
        await shot(page, "ops-overview.png");
      });

      await t.step("pointing at a chart reads that step in all three; arrow keys too", async () => {
        const plot = page.locator(".chart-plot").first();
        const readout = page.locator(".chart-readout").first();
        assertStringIncludes((await readout.textContent())!, "latest");
        const box = (await plot.boundingBox())!;
        await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
        await page.waitForFunction(() =>
          !document.querySelector(".chart-readout")?.textContent?.startsWith("latest")
        );
        const pointed = (await readout.textContent())!;
        assert(!pointed.startsWith("latest") && pointed.includes("UTC"), pointed);
        // The three charts read the same step.
        const times = await page.locator(".chart-readout").evaluateAll((els) =>
          els.map((el) => el.textContent?.match(/\d\d:\d\d:\d\d UTC/)?.[0])
        );
        assertEquals(new Set(times).size, 1, times.join());
        await page.mouse.move(0, 0);
        await plot.focus();
        await page.keyboard.press("End");
        await page.keyboard.press("ArrowLeft");
        const before = (await readout.textContent())!;
        await page.keyboard.press("ArrowLeft");
        await page.waitForFunction(
          ([sel, text]) => document.querySelector(sel)?.textContent !== text,
          [".chart-readout", before] as const,
        );
        await page.keyboard.press("Escape");
      });

      await t.step("the hour window: 10 s steps, kept in the URL and across a reload", async () => {
        await page.click('.segmented a:has-text("1 h")');
        await page.waitForSelector('.history[data-window="3600"]');
        assertStringIncludes(page.url(), "window=3600");
        assertEquals(
          await page.locator(".chart-x").first().locator("span").first().textContent(),
          "−1 h",
        );
        await page.reload();
        await page.waitForSelector('.history[data-window="3600"]');
        await page.waitForSelector('.conn[data-state="live"]');
        await page.click('.segmented a:has-text("5 min")');
        await page.waitForSelector('.history[data-window="300"]');
      });

      await t.step(
        "the table shows run time, attempts, worker and the error's first line",
        async () => {
          const bad = await ui.engine.submit({ type: "fib", payload: { n: "not a number" } });
          const failed = await ui.engine.wait(bad.id);
          await page.goto(`${ui.url}/tasks?status=failed`);
          await page.waitForSelector('.conn[data-state="live"]');
          const row = page.locator(`tr[data-task="${bad.id}"]`);
          assertEquals(await row.locator(".col-attempts").textContent(), "1/1");
          assertEquals(await row.locator(".col-worker").textContent(), String(failed.workerId));
          assert((await row.locator(".col-runTime").textContent()) !== "–");
          assertEquals(
            await row.locator(".col-error").textContent(),
            `${failed.error!.name}: ${failed.error!.message.split("\n")[0]}`,
          );
        },
      );

      await t.step(
        "Retry all matching names the count in its confirm and requeues them",
        async () => {
          const more = await ui.engine.submitBatch(
            Array.from(
              { length: 3 },
              () => ({ type: "fib", payload: { n: "bad" }, maxAttempts: 1 }),
            ),
          );
          await Promise.all(more.map((task) => ui.engine.wait(task.id)));
          const failedCount = (await ui.engine.stats()).counts.failed;
          const requeued = new Set<string>();
          const stop = ui.engine.on((event) => {
            if (event.type === "task.retrying") requeued.add(event.task.id);
          });
          await page.goto(`${ui.url}/tasks?status=failed&type=fib`);
          await page.waitForSelector('.conn[data-state="live"]');
          const asked = nextDialog(page, "accept");
          await page.click("text=Retry all matching");
          assertEquals(
            await asked,
            `Retry ${failedCount} tasks matching status failed, type fib?`,
          );
          await page.waitForSelector(`text=Queued again ${failedCount} tasks.`);
          stop();
          for (const task of more) assert(requeued.has(task.id), `${task.id} was not requeued`);
        },
      );

      await t.step("Cancel all matching names the count in its confirm", async () => {
        await ui.engine.submitBatch(
          Array.from({ length: 4 }, (_, i) => ({ type: "noop", payload: i, delayMs: 600_000 })),
        );
        await page.goto(`${ui.url}/tasks?status=scheduled`);
        await page.waitForSelector('.conn[data-state="live"]');
        const asked = nextDialog(page, "dismiss");
        await page.click("text=Cancel all matching");
        assertEquals(await asked, "Cancel 4 tasks matching status scheduled?");
        await page.waitForSelector("text=Cancel of 4 tasks: not done.");
        assertEquals((await ui.engine.stats()).counts.scheduled, 4);
      });

      await t.step("at 360 px every row is a card with nothing cut", async () => {
        const narrow = await open(browser, 360, "dark");
        for (const path of ["/tasks", "/tasks?status=failed", "/"]) {
          await narrow.page.goto(`${ui.url}${path}`);
          await narrow.page.waitForSelector('.conn[data-state="live"]');
          const sideways = await narrow.page.evaluate(() =>
            document.documentElement.scrollWidth - document.documentElement.clientWidth
          );
          assertEquals(sideways, 0, `${path} scrolls sideways`);
          assertEquals(await overflowing(narrow.page, ".tasks td, .tasks td button"), [], path);
          // Labelled cells: the header row is for screen readers only.
          const label = await narrow.page.locator(".tasks td.col-status").first().evaluate((td) =>
            getComputedStyle(td, "::before").content
          );
          assertEquals(label, '"Status"');
        }
        // Between the cards and the table's own width the table scrolls in its box, not the page.
        await narrow.page.setViewportSize({ width: 900, height: 900 });
        await narrow.page.goto(`${ui.url}/tasks`);
        assertEquals(
          await narrow.page.evaluate(() =>
            document.documentElement.scrollWidth - document.documentElement.clientWidth
          ),
          0,
          "/tasks scrolls sideways at 900 px",
        );
        await narrow.page.setViewportSize({ width: 360, height: 900 });
        await narrow.page.goto(`${ui.url}/`);
        await narrow.page.waitForSelector('.conn[data-state="live"]');
        await shot(narrow.page, "ops-overview-360-dark.png");
        await narrow.page.goto(`${ui.url}/tasks?status=failed`);
        await shot(narrow.page, "ops-tasks-360-dark.png");
        await narrow.context.close();
      });

      await t.step(
        "worker cards fit four-digit counts and show task, load and restarts",
        async () => {
          await ui.engine.submitBatch(
            Array.from({ length: 2400 }, (_, i) => ({ type: "noop", payload: i })),
          );
          await settle(ui);
          // Long enough to be seen at both widths however slow the machine; cancelled after.
          const sleepers = await Promise.all(
            [0, 1].map(() => ui.engine.submit({ type: "sleep", payload: { ms: 120_000 } })),
          );
          for (const width of [1280, 360]) {
            const view = await open(browser, width);
            await view.page.goto(`${ui.url}/`);
            await view.page.waitForSelector('.conn[data-state="live"]');
            const counts = await view.page.locator(".worker-stats dd").allTextContents();
            assert(counts.some((text) => text.replace(/\D/g, "").length >= 4), counts.join());
            assertEquals(await overflowing(view.page, ".worker, .worker *"), [], `${width} px`);
            await view.page.waitForSelector(`.worker-task a[href="/tasks/${sleepers[0].id}"]`);
            await view.page.waitForSelector('.worker-task:has-text("sleep")');
            await view.page.waitForFunction(() =>
              [...document.querySelectorAll<HTMLMeterElement>(".worker-load meter")]
                .some((meter) => meter.value > 0)
            );
            assertEquals(await view.page.locator(".worker dt", { hasText: "restarts" }).count(), 2);
            await shot(view.page, `ops-workers-${width}.png`);
            await view.context.close();
          }
          for (const task of sleepers) await ui.engine.cancel(task.id);
        },
      );

      await t.step("submit sets timeout, attempts, delay and key; one status line", async () => {
        await page.goto(`${ui.url}/`);
        await page.waitForSelector('.conn[data-state="live"]');
        await page.selectOption("#submit-type", "sleep");
        await page.fill("#submit-payload", '{ "ms": 10 }');
        await page.selectOption("#submit-when", "delay");
        await page.fill("#submit-delay", "60000");
        await page.fill("#submit-timeout", "120000");
        await page.fill("#submit-attempts", "3");
        await page.fill("#submit-key", "order-42");
        await page.click(".submit-form button[type=submit]");
        const link = page.locator(".submit-status a");
        await link.waitFor();
        assertStringIncludes((await link.textContent())!, "Submitted sleep task");
        const id = (await link.getAttribute("href"))!.split("/").pop()!;
        const task = (await ui.engine.get(id))!;
        assertEquals(
          [task.status, task.timeoutMs, task.maxAttempts, task.idempotencyKey],
          ["scheduled", 120_000, 3, "order-42"],
        );
        assert(
          task.runAt - task.createdAt >= 59_000,
          `runs ${task.runAt - task.createdAt} ms later`,
        );

        await page.click(".submit-form button[type=submit]");
        await page.waitForSelector(".submit-status >> text=Already submitted");

        // A new error replaces the old success, and the field's message shows once.
        console.expect(/status of 400/);
        await page.fill("#submit-key", "");
        await page.fill("#submit-priority", "11");
        await page.click(".submit-form button[type=submit]");
        await page.waitForSelector("#submit-priority-error");
        assertEquals(
          await page.locator(".submit-status").textContent(),
          "Not submitted: check the priority field.",
        );
        assertEquals(await page.getByText("Priority must be an integer").count(), 1);

        // Run at a time, in the browser's own time zone.
        await page.fill("#submit-priority", "5");
        const [at, local] = await page.evaluate(() => {
          const d = new Date(Date.now() + 3_600_000);
          d.setMilliseconds(0);
          const p = (n: number) => String(n).padStart(2, "0");
          return [
            d.getTime(),
            `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
            `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`,
          ] as const;
        });
        await page.selectOption("#submit-when", "at");
        await page.fill("#submit-run-at", local);
        await page.click(".submit-form button[type=submit]");
        await page.waitForFunction(() =>
          document.querySelector(".submit-status")?.textContent?.startsWith("Submitted")
        );
        assertEquals(await page.locator(".field-error").count(), 0);
        const later = (await page.locator(".submit-status a").getAttribute("href"))!.split("/")
          .pop()!;
        assertEquals((await ui.engine.get(later))!.runAt, at);
      });

      await t.step(
        "uptime ticks; while disconnected figures show their age, actions wait",
        async () => {
          await page.goto(`${ui.url}/`);
          await page.waitForSelector('.conn[data-state="live"]');
          const uptime = await page.locator("[data-uptime]").textContent();
          await page.waitForFunction(
            (first) => document.querySelector("[data-uptime]")?.textContent !== first,
            uptime,
          );
          assertEquals(await page.locator("[data-node]").textContent(), ui.engine.nodeId);
          assertEquals(await page.locator("[data-stale]").count(), 0);
          console.expect(/WebSocket connection to .* failed/);
          console.expect(/status of 503/);
          ui.refuseWebSockets = true;
          ui.killWebSockets();
          await page.waitForSelector('.conn[data-state="reconnecting"]');
          assert(await page.locator(".submit-form button[type=submit]").isDisabled());
          await page.waitForSelector("[data-stale]");
          assertStringIncludes(
            (await page.locator("[data-stale]").first().textContent())!,
            "s ago",
          );
          assertStringIncludes(
            (await page.locator(".submit-status").textContent())!,
            "actions wait until the page is live again",
          );
          await shot(page, "ops-stale.png");
          // The table's actions wait too.
          await ui.engine.submit({ type: "noop", payload: "later", delayMs: 600_000 });
          await page.goto(`${ui.url}/tasks?status=scheduled`);
          await page.waitForSelector('.conn[data-state="reconnecting"]');
          assert(await page.locator("text=Cancel all matching").isDisabled());
          assert(await page.locator(".tasks td.actions button").first().isDisabled());
          ui.refuseWebSockets = false;
          await page.waitForSelector('.conn[data-state="live"]', { timeout: 20_000 });
          assert(await page.locator("text=Cancel all matching").isEnabled());
          assert(await page.locator(".tasks td.actions button").first().isEnabled());
        },
      );

      await t.step("after a server restart the header follows the new node", async () => {
        await page.goto(`${ui.url}/`);
        await page.waitForSelector('.conn[data-state="live"]');
        const before = ui.engine.nodeId;
        console.expect(/WebSocket connection to .* failed/);
        await ui.restart();
        assert(ui.engine.nodeId !== before);
        await page.waitForFunction(
          (node) => document.querySelector("[data-node]")?.textContent === node,
          ui.engine.nodeId,
          { timeout: 20_000 },
        );
        await page.waitForSelector('.conn[data-state="live"]');
        await page.waitForFunction(() =>
          document.querySelector("[data-uptime]")?.textContent !== "–"
        );
        assertEquals(await page.locator("[data-stale]").count(), 0);
      });

      assertEquals(console.errors, []);
      await context.close();
    } finally {
      await browser.close();
      await ui.close();
    }
  },
});
