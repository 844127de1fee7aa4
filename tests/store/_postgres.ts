/**
 * The PostgreSQL the tests and benchmarks use, and whether it answers. When it
 * does not, the tests that need it are ignored with the reason printed, or, with
 * `THREADFLOW_REQUIRE_SERVICES=1` (`.ci/run`), their files fail to load.
 *
 * @module
 */

import postgres from "postgres";
import { serviceMissing } from "../_services.ts";

/** Server for tests: `THREADFLOW_TEST_PG`, or the local one (trust auth, database `test`). */
export const PG_URL = Deno.env.get("THREADFLOW_TEST_PG") ??
  "postgres://postgres@127.0.0.1:5432/test";

/**
 * Why PostgreSQL at `url` (default {@linkcode PG_URL}) cannot serve the tests,
 * or `undefined` when it answers a query within about two seconds. Reported
 * through `serviceMissing`: printed once, or thrown when CI requires it.
 */
export async function pgMissing(url: string = PG_URL): Promise<string | undefined> {
  const sql = postgres(url, { connect_timeout: 2, onnotice: () => {}, max: 1 });
  let reason: string | undefined;
  try {
    await sql`SELECT 1`;
  } catch (error) {
    reason = `PostgreSQL does not answer at ${redact(url)} (${
      error instanceof Error ? error.message : String(error)
    }); start it (trust auth, database "test"), or point THREADFLOW_TEST_PG at one`;
  } finally {
    await sql.end({ timeout: 0 });
  }
  return serviceMissing("PostgreSQL", reason);
}

/** Whether `url` (default {@linkcode PG_URL}) answers a query within about two seconds. */
export async function pgReachable(url: string = PG_URL): Promise<boolean> {
  return (await pgMissing(url)) === undefined;
}

/** A new schema name for one test (`tf_test_` and 16 hex digits); the test drops it. */
export function freshSchema(): string {
  return `tf_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/** Runs `fn` on a fresh schema with an admin connection; drops the schema afterwards. */
export async function withSchema(
  fn: (schema: string, sql: postgres.Sql) => Promise<void>,
): Promise<void> {
  const schema = freshSchema();
  const sql = postgres(PG_URL, { onnotice: () => {}, max: 2 });
  try {
    await fn(schema, sql);
  } finally {
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql.end({ timeout: 5 });
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
