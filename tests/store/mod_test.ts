import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  DEFAULT_SQLITE_PATH,
  MemoryStore,
  openStore,
  PostgresStore,
  SqliteStore,
} from "../../engine/store/mod.ts";
import { InvalidOptionError } from "../../engine/model/errors.ts";

Deno.test("openStore: picks the store from the spec without opening it", () => {
  assert(openStore("memory") instanceof MemoryStore);
  const sqlite = openStore("sqlite:/tmp/tf/x.db");
  assert(sqlite instanceof SqliteStore);
  assertEquals([sqlite.kind, sqlite.name], ["local", "sqlite:/tmp/tf/x.db"]);
  assertEquals(openStore("sqlite").name, `sqlite:${DEFAULT_SQLITE_PATH}`);
  const pg = openStore("postgres://postgres:secret@127.0.0.1:5432/test?schema=tf_a");
  assert(pg instanceof PostgresStore);
  assertEquals([pg.kind, pg.name], ["shared", "postgres://127.0.0.1:5432/test?schema=tf_a"]);
  assertEquals(openStore("postgresql://h/db").name, "postgres://h/db?schema=threadflow");
});

Deno.test("openStore: a bad spec fails with InvalidOptionError naming the store field", () => {
  for (const spec of ["redis://x", "sqlite:", "postgres://h/db?schema=Bad-Name", ""]) {
    throws(() => openStore(spec), (error: unknown) => {
      assert(error instanceof InvalidOptionError, String(error));
      assertEquals(error.field, "store");
      assert(!error.message.includes("secret"));
      return true;
    });
  }
  throws(() => openStore("postgres://u:secret@[bad/db"), (error: unknown) => {
    assert(error instanceof InvalidOptionError);
    assert(!error.message.includes("secret"), error.message);
    return true;
  });
});
