/**
 * The schedules page in Chromium against the real service: rendered with
 * data, a schedule created from the form (a bad cron answered at its field
 * with croner's words), fires shown live with a link to the task (whose page
 * names its schedule), pause, resume and delete, and no overflow at 360 px.
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { browserMissing, launchBrowser, startUiService } from "./_browser.ts";
import { overflowing, shot, watchConsole } from "./_page.ts";

const missing = browserMissing();

Deno.test({
  name: "schedules page: create from the form, live fires, pause, resume, delete",
  ignore: missing !== undefined,
  async fn() {
    const ui = await startUiService();
    const browser = await launchBrowser();
    try {
      await ui.engine.schedules.create({
        name: "nightly-report",
        cron: "0 3 * * *",
        timezone: "Europe/Paris",
        task: { type: "noop", priority: 8 },
      });
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const console = watchConsole(page);
      console.expect(/status of 400/); // the bad cron, answered at its field
      await page.goto(`${ui.url}/schedules`);
      await page.waitForSelector('.conn[data-state="live"]');
      assertEquals(await page.getAttribute('nav a[href="/schedules"]', "aria-current"), "page");
      const nightly = page.locator('tr[data-schedule="nightly-report"]');
      assertEquals(await nightly.locator(".next-runs li").count(), 5);
      assertStringIncludes(await nightly.textContent() ?? "", "Europe/Paris");

      // A cron croner cannot read is answered at the cron field.
      await page.fill("#schedule-name", "beat");
      await page.fill("#schedule-cron", "61 * * * *");
      await page.click('button[type="submit"]');
      await page.waitForSelector("#schedule-cron-error");
      assertStringIncludes(
        await page.textContent("#schedule-cron-error") ?? "",
        "Invalid value for minute: 61",
      );
      assertEquals(await page.getAttribute("#schedule-cron", "aria-invalid"), "true");

      await page.fill("#schedule-cron", "@every 1s");
      await page.selectOption("#schedule-type", "noop");
      await page.fill("#schedule-payload", '{ "from": "the dashboard" }');
      await page.click('button[type="submit"]');
      const beat = page.locator('tr[data-schedule="beat"]');
      await beat.waitFor();
      // Fires arrive live: the last-fired cell links to the newest task.
      const link = beat.locator('a[href^="/tasks/"]');
      await link.waitFor({ timeout: 15_000 });
      await shot(page, "schedules-1280.png");

      await beat.getByRole("button", { name: "Pause schedule beat" }).click();
      await page.waitForSelector('tr[data-schedule="beat"][data-paused="true"]');
      assertEquals((await ui.engine.schedules.get("beat"))?.paused, true);
      await beat.getByRole("button", { name: "Resume schedule beat" }).click();
      await page.waitForSelector('tr[data-schedule="beat"][data-paused="false"]');

      const href = await link.getAttribute("href");
      await page.goto(`${ui.url}${href}`);
      await page.waitForSelector('.conn[data-state="live"]');
      const facts = await page.textContent(".facts") ?? "";
      assertStringIncludes(facts, "Schedule");
      assertStringIncludes(facts, "beat");

      await page.goto(`${ui.url}/schedules`);
      await page.waitForSelector('.conn[data-state="live"]');
      await page.getByRole("button", { name: "Delete schedule beat" }).click();
      await page.waitForSelector('tr[data-schedule="beat"]', { state: "detached" });
      assertEquals(await ui.engine.schedules.get("beat"), undefined);
      assertEquals(console.errors, []);
      await context.close();

      // Narrow screens: rows become cards, nothing is cut.
      const narrow = await browser.newContext({ viewport: { width: 360, height: 800 } });
      const small = await narrow.newPage();
      await small.goto(`${ui.url}/schedules`);
      await small.waitForSelector('.conn[data-state="live"]');
      assertEquals(await overflowing(small, "main, .panel, .schedules td"), []);
      const width = await small.evaluate(() => document.documentElement.scrollWidth);
      assert(width <= 360, `the page is ${width} px wide at 360 px`);
      await shot(small, "schedules-360.png");
      await narrow.close();
    } finally {
      await browser.close();
      await ui.close();
    }
  },
});
