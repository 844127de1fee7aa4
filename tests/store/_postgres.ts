/**
 * The PostgreSQL the tests and benchmarks use, and whether it answers.
 *
 * @module
 */

import postgres from "postgres";

/** Server for tests: `THREADFLOW_TEST_PG`, or the local one (trust auth, database `test`). */
export const PG_URL = Deno.env.get("THREADFLOW_TEST_PG") ??
  "postgres://postgres@127.0.0.1:5432/test";

/** Whether `url` (default {@linkcode PG_URL}) answers a query within about two seconds. */
export async function pgReachable(url: string = PG_URL): Promise<boolean> {
  const sql = postgres(url, { connect_timeout: 2, onnotice: () => {}, max: 1 });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 0 });
  }
}
