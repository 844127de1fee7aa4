/**
 * What the test suite needs besides Deno, and what happens when it is absent:
 * the tests that need a missing service are ignored, with its reason printed
 * once per test file, or, with `THREADFLOW_REQUIRE_SERVICES=1` (set by
 * `.ci/run`, which provides every service), the test file fails to load.
 *
 * @module
 */

/** Whether every service must be present: `THREADFLOW_REQUIRE_SERVICES=1`. */
export const REQUIRE_SERVICES: boolean = Deno.env.get("THREADFLOW_REQUIRE_SERVICES") === "1";

const reported = new Set<string>();

/**
 * Passes on why `service` is missing (`undefined` when it is present), so a
 * test can be `ignore`d with it. The reason is printed once per process; when
 * {@linkcode REQUIRE_SERVICES} is set, a missing service throws instead.
 *
 * @example
 * ```ts ignore
 * const missing = serviceMissing("Chromium", existsSync(CHROMIUM) ? undefined : "not installed");
 * Deno.test({ name: "...", ignore: missing !== undefined, fn() {} });
 * ```
 */
export function serviceMissing(service: string, reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (REQUIRE_SERVICES) {
    throw new Error(
      `THREADFLOW_REQUIRE_SERVICES=1, but ${service} is missing: ${reason}. Tests that need it ` +
        "would be ignored; CI must provide it.",
    );
  }
  if (!reported.has(service)) {
    reported.add(service);
    console.warn(`Ignoring the tests that need ${service}: ${reason}.`);
  }
  return reason;
}
