/**
 * The console's second part, in Chromium against the real service and real
 * workers: the task types page (figures, pause and resume, limits, live from
 * another client's changes), a task page's parents and children, its attempt
 * timeline after retries and "retry with changes", and the table's total,
 * search by id and sorts.
 */

import type { Browser, Page } from "playwright-core";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { browserMissing, launchBrowser, startUiService, type UiService } from "./_browser.ts";
import { shot, watchConsole } from "./_page.ts";

const missing = browserMissing();

async function open(browser: Browser, width: number) {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  return { context, page, console: watchConsole(page) };
}

/** Opens `path` and waits until the page is live. */
async function visit(page: Page, ui: UiService, path: string): Promise<void> {
  await page.goto(`${ui.url}${path}`);
  await page.waitForSelector('.conn[data-state="live"]');
}

Deno.test({
  name: "console: task types, a task's relatives and attempts, retry with changes, table search",
  ignore: missing !== undefined,
  async fn(t) {
    const ui = await startUiService({ engine: { backoffMs: 0 } });
    const browser = await launchBrowser();
    try {
      const { context, page, console } = await open(browser, 1280);

      await t.step("the types page shows each type's counts, figures and isolation", async () => {
        const good = await ui.engine.submitBatch(
          Array.from({ length: 9 }, (_, i) => ({ type: "fib", payload: { n: 5 + i } })),
        );
        const bad = await ui.engine.submit({ type: "fib", payload: { n: "bad" } });
        await Promise.all([...good, bad].map((task) => ui.engine.wait(task.id)));
        await visit(page, ui, "/types");
        const fib = page.locator('.type-card[data-type="fib"]');
        assertEquals(await fib.locator('[data-count="succeeded"]').textContent(), "9");
        assertEquals(await fib.locator('[data-count="failed"]').textContent(), "1");
        assertEquals(
          await fib.locator('[data-fact="failures"]').textContent(),
          "10 % (1 of 10 attempts)",
        );
        assertStringIncludes((await fib.locator('[data-fact="runtime"]').textContent())!, "p95");
        assertStringIncludes(
          (await fib.locator('[data-fact="last-error"]').textContent())!,
          "RangeError",
        );
        assertEquals(
          await fib.locator('[data-fact="last-error"] a').getAttribute("href"),
          `/tasks/${bad.id}`,
        );
        assertEquals(
          await fib.locator('[data-fact="isolation"]').textContent(),
          "Web Worker; no permissions",
        );
        // A count links to the table filtered on it.
        assertEquals(
          await fib.locator('[data-count="failed"]').locator("xpath=..").getAttribute("href"),
          "/tasks?type=fib&status=failed",
        );
        await shot(page, "console-types.png");
      });

      await t.step("pause, resume and limits from the page reach the engine", async () => {
        const sleep = page.locator('.type-card[data-type="sleep"]');
        await sleep.locator("button", { hasText: "Pause" }).click();
        await sleep.locator(".pill-paused").waitFor();
        // The card is outlined while paused (CSS :has, no script).
        const borders = await page.$$eval(
          ".type-card",
          (cards) => cards.map((card) => getComputedStyle(card).borderTopColor),
        );
        assertEquals(new Set(borders).size, 2);
        assert(ui.engine.typeControl("sleep").paused, "the engine paused sleep");
        // A paused type's task stays queued.
        const waiting = await ui.engine.submit({ type: "sleep", payload: { ms: 1 } });
        await new Promise((resolve) => setTimeout(resolve, 200));
        assertEquals((await ui.engine.get(waiting.id))!.status, "queued");
        await sleep.locator("button", { hasText: "Resume" }).click();
        await sleep.locator(".pill-paused").waitFor({ state: "detached" });
        assertEquals((await ui.engine.wait(waiting.id)).status, "succeeded");

        await sleep.locator('input[name="concurrency"]').fill("2");
        await sleep.locator('input[name="ratePerSecond"]').fill("50");
        await sleep.locator("button", { hasText: "Save limits" }).click();
        await sleep.locator("text=Limits saved.").waitFor();
        assertEquals(ui.engine.typeControl("sleep").limits, { concurrency: 2, ratePerSecond: 50 });
        assertStringIncludes(
          (await sleep.locator(".limits-title").textContent())!,
          "set here: 2 at once, 50/s",
        );
        // The server's refusal is shown, naming the field.
        await sleep.locator('input[name="ratePerSecond"]').fill("");
        await sleep.locator('input[name="burst"]').fill("5");
        await sleep.locator("button", { hasText: "Save limits" }).click();
        await sleep.locator(".field-error", { hasText: "burst needs ratePerSecond" }).waitFor();
        assertEquals(
          await sleep.locator('input[name="burst"]').getAttribute("aria-invalid"),
          "true",
        );
        await sleep.locator("button", { hasText: "Clear limits" }).click();
        await sleep.locator("text=Back to the module's limits.").waitFor();
        assertEquals(ui.engine.typeControl("sleep").limitsSet, false);
      });

      await t.step("a change made elsewhere arrives live (type events)", async () => {
        await ui.engine.pauseType("gzip");
        const gzip = page.locator('.type-card[data-type="gzip"]');
        await gzip.locator(".pill-paused").waitFor();
        await ui.engine.setTypeLimits("gzip", { concurrency: 3 });
        await page.waitForFunction(() =>
          document.querySelector('.type-card[data-type="gzip"] input[name="concurrency"]')
            ?.getAttribute("value") === "3"
        );
        await ui.engine.resumeType("gzip");
        await gzip.locator(".pill-paused").waitFor({ state: "detached" });
        await ui.engine.setTypeLimits("gzip", null);
      });

      await t.step("a task page lists its parents and children with their statuses", async () => {
        const parent = await ui.engine.submit({ type: "sleep", payload: { ms: 60_000 } });
        const child = await ui.engine.submit({
          type: "noop",
          dependsOn: [parent.id],
          onParentFailure: "run",
        });
        await visit(page, ui, `/tasks/${child.id}`);
        assertEquals(await page.locator(".task-detail").getAttribute("data-status"), "blocked");
        const parents = page.locator('ul[aria-label="Depends on"]');
        assertEquals(await parents.locator("li").count(), 1);
        assertEquals(await parents.locator("li").getAttribute("data-task"), parent.id);
        assertStringIncludes(
          (await page.textContent(".task-detail"))!,
          "have ended, whatever the outcome",
        );
        await visit(page, ui, `/tasks/${parent.id}`);
        const children = page.locator('ul[aria-label="Dependents"]');
        await children.locator(`li[data-task="${child.id}"] [data-status="blocked"]`).waitFor();
        // The parent is cancelled: the child runs anyway, seen live on the parent's page.
        await ui.engine.cancel(parent.id);
        await children.locator(`li[data-task="${child.id}"] [data-status="succeeded"]`).waitFor();
        await shot(page, "console-relatives.png");
      });

      await t.step("the attempt timeline after retries, then retry with changes", async () => {
        const failing = await ui.engine.submit({
          type: "fib",
          payload: { n: "x" },
          maxAttempts: 2,
        });
        await ui.engine.wait(failing.id);
        await ui.engine.retry(failing.id);
        await ui.engine.wait(failing.id);
        await visit(page, ui, `/tasks/${failing.id}`);
        const outcomes = await page.locator(".timeline li").evaluateAll((items) =>
          items.map((li) => `${li.querySelector("strong")?.textContent} ${li.dataset.outcome}`)
        );
        assertEquals(outcomes, [
          "Attempt 1 failed",
          "Attempt 2 failed",
          "Attempt 1 failed",
          "Attempt 2 failed",
        ]);
        assertEquals(
          await page.locator('[data-fact="attempts"]').textContent(),
          "2 of 2· 4 runs in all",
        );
        await Promise.all([page.waitForURL(/\/retry$/), page.click("text=Retry with changes")]);
        await page.waitForSelector('.conn[data-state="live"]');
        const payload = page.locator("#submit-payload");
        assertEquals(JSON.parse(await payload.inputValue()), { n: "x" });
        assertEquals(await page.inputValue("#submit-type"), "fib");
        assertEquals(await page.inputValue("#submit-attempts"), "2");
        // Bad edits are refused at their field: JSON by the page, a range by the server.
        await payload.fill('{ "n": ');
        await page.click(".submit-form button[type=submit]");
        await page.locator("#submit-payload-error").waitFor();
        await payload.fill('{ "n": 12 }');
        await page.fill("#submit-priority", "11");
        await page.click(".submit-form button[type=submit]");
        await page.locator("#submit-priority-error", { hasText: "from 1 to 10" }).waitFor();
        assertEquals(await page.getAttribute("#submit-priority", "aria-invalid"), "true");
        await page.fill("#submit-priority", "7");
        await page.fill("#submit-attempts", "1");
        await page.click(".submit-form button[type=submit]");
        await page.waitForFunction(() =>
          document.querySelector(".submit-status")?.textContent?.startsWith("Submitted")
        );
        await Promise.all([
          page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/),
          page.click(".submit-status a"),
        ]);
        const newId = page.url().split("/").pop()!;
        assert(newId !== failing.id, "a new task was opened");
        const again = await ui.engine.wait(newId);
        assertEquals(
          [again.retryOf, again.result, again.maxAttempts, again.priority],
          [failing.id, 144, 1, 7],
        );
        await page.locator(`a[href="/tasks/${failing.id}"]`).first().waitFor();
        assertStringIncludes((await page.textContent(".facts"))!, "Retry of");
        await shot(page, "console-retried.png");
      });

      await t.step("the table: total matching, search by id prefix, sorts", async () => {
        const tasks = await ui.engine.submitBatch([
          { type: "noop", payload: 1, priority: 2, delayMs: 600_000 },
          { type: "noop", payload: 2, priority: 9, delayMs: 600_000 },
          { type: "noop", payload: 3, priority: 5, delayMs: 600_000 },
        ]);
        await visit(page, ui, "/tasks?status=scheduled");
        assertEquals(await page.locator(".table-total").getAttribute("data-total"), "3");
        assertEquals(await page.locator(".table-total").textContent(), "3 tasks match");
        const order = () =>
          page.locator(".tasks tbody tr").evaluateAll((rows) =>
            rows.map((row) => (row as HTMLElement).dataset.task)
          );
        assertEquals(await order(), [tasks[2].id, tasks[1].id, tasks[0].id]);
        await page.selectOption("#f-sort", "priority");
        await Promise.all([page.waitForURL(/sort=priority/), page.click("text=Filter")]);
        assertEquals(await order(), [tasks[1].id, tasks[2].id, tasks[0].id]);
        // Search by the start of an id (the whole id here finds exactly it).
        await page.fill("#f-id", tasks[0].id.slice(0, 30).toUpperCase());
        await Promise.all([page.waitForURL(/id=/), page.click("text=Filter")]);
        await page.waitForSelector('.conn[data-state="live"]');
        assertEquals(await order(), [tasks[0].id]);
        assertEquals(await page.locator(".table-total").textContent(), "1 task matches");
        assertEquals(await page.inputValue("#f-id"), tasks[0].id.slice(0, 30));
        // A malformed id is explained, not a crash.
        await visit(page, ui, "/tasks?id=xyz");
        assertStringIncludes((await page.textContent(".field-error"))!, "Search by id");
        // Sorted by run time: the longest finished run first, unfinished last.
        await visit(page, ui, "/tasks?sort=runTime");
        const first = await page.locator(".tasks tbody tr").first().getAttribute("data-task");
        const longest = (await ui.engine.list({ sort: "runTime", limit: 1 })).tasks[0];
        assertEquals(first, longest.id);
        await shot(page, "console-table-sorted.png");
      });

      assertEquals(console.errors.filter((e) => !/status of 400/.test(e)), []);
      await context.close();
    } finally {
      await browser.close();
      await ui.close();
    }
  },
});
