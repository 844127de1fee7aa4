/**
 * Browser side: whether the island has hydrated. Controls that need
 * JavaScript render disabled on the server (and with JavaScript off), and
 * enable once their island is live.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";

/**
 * `false` on the server and in the first (hydrating) render; `true` after.
 *
 * @example
 * ```ts ignore
 * const hydrated = useHydrated();
 * return <button disabled={!hydrated}>Cancel</button>;
 * ```
 */
export function useHydrated(): boolean {
  const [hydrated, setHydrated] = useState(false);
  useEffect(() => setHydrated(true), []);
  return hydrated;
}
