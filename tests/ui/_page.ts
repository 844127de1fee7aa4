/**
 * Browser-test helpers for one page: console errors, screenshots and an
 * axe-core accessibility check.
 *
 * @module
 */

import axe from "axe-core";
import type { Page } from "playwright-core";
import { SCREENSHOTS } from "./_browser.ts";

/** Console errors the page logged, except the ones a step expects. */
export function watchConsole(page: Page): { errors: string[]; expect: (pattern: RegExp) => void } {
  const errors: string[] = [];
  const expected: RegExp[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // A failed load names no resource in its text; its location does.
    const url = message.location().url;
    const text = url === "" ? message.text() : `${message.text()} (${url})`;
    if (!expected.some((pattern) => pattern.test(text))) errors.push(text);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  return { errors, expect: (pattern) => expected.push(pattern) };
}

/** A full-page screenshot into `tests/screenshots/` (git-ignored). */
export async function shot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(name, SCREENSHOTS).pathname, fullPage: true });
}

/**
 * The axe-core violations on the page as it is now, one line each: rule,
 * impact and the elements at fault. axe is injected through the DevTools
 * protocol, which the page's CSP does not govern.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!await page.evaluate(() => "axe" in globalThis)) await page.evaluate(axe.source);
  const result = await page.evaluate(() =>
    (globalThis as unknown as { axe: typeof axe }).axe.run(document, {
      resultTypes: ["violations"],
    })
  );
  return result.violations.map((v) =>
    `${v.id} (${v.impact}): ${v.help}: ${
      v.nodes.map((n) => `${n.target.join(" ")} ${n.failureSummary ?? ""}`).join("; ")
    }`
  );
}

/** Whether any element matching `selector` reaches past the right edge of the viewport or its box. */
export function overflowing(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (elements) =>
    elements.flatMap((el) => {
      const box = el.getBoundingClientRect();
      const cut = el.scrollWidth > el.clientWidth + 1 || box.right > innerWidth + 0.5;
      return cut ? [`${el.className} ${el.textContent?.slice(0, 60)}`] : [];
    }));
}
