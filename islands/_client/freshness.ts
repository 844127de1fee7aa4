/**
 * Browser side: how current the page is. Figures that stopped updating are
 * marked with their age, and actions wait for a live connection, so the page
 * never offers to act on a server it cannot hear from.
 *
 * @module
 */

import { useHydrated } from "./hydrated.ts";
import { clock, connection, isStale, statsAt } from "./live.ts";

/**
 * The age of the figures shown, ms, once they are stale (see `isStale`); `null`
 * while live, before hydration and on the server.
 *
 * @example
 * ```tsx ignore
 * const age = useStaleAge();
 * return <StaleNote ageMs={age} />;
 * ```
 */
export function useStaleAge(): number | null {
  const hydrated = useHydrated();
  const state = connection.value;
  // While live the clock is not read, so a live panel does not redraw every second for this.
  if (!hydrated || state === "live") return null;
  const now = clock.value;
  const at = statsAt.value;
  if (at === null || !isStale(state, at, now)) return null;
  return now - at;
}

/**
 * Whether actions (submit, cancel, retry) may be offered: hydrated and live.
 *
 * @example
 * ```tsx ignore
 * const canAct = useCanAct();
 * return <button disabled={!canAct}>Cancel</button>;
 * ```
 */
export function useCanAct(): boolean {
  const hydrated = useHydrated();
  return hydrated && connection.value === "live";
}

/** What a disabled action says about why, for the status line. */
export const NOT_LIVE = "Not connected: actions wait until the page is live again.";
