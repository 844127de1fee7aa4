/**
 * Private to the SQLite store: the thread its writes run on. It opens a
 * second connection to the database the store opened and migrated, runs
 * each batch it is sent as one transaction (`_writes.ts`), and posts the
 * reports back. So the statements, the COMMIT and the WAL's checkpoints
 * leave the event loop that serves requests.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { DatabaseSync } from "node:sqlite";
import { openWriteConnection, walSync } from "./_open.ts";
import { describe } from "./_rows.ts";
import type { FromWriteThread, ToWriteThread } from "./_write_thread.ts";
import { SqliteWrites, type WriteReport } from "./_writes.ts";

let db: DatabaseSync | undefined;
let writes: SqliteWrites | undefined;
let closeWal: (() => void) | undefined;

function post(report: WriteReport | FromWriteThread): void {
  self.postMessage(report);
}

self.onmessage = async (event: MessageEvent<ToWriteThread>) => {
  const message = event.data;
  switch (message.kind) {
    case "open": {
      try {
        db = openWriteConnection(message.path, message.synchronous);
        const wal = walSync(message.path, message.synchronous);
        closeWal = () => wal?.close();
        writes = new SqliteWrites(db, message.path, wal, message.counts, post);
        post({ kind: "opened" });
      } catch (error) {
        db?.close();
        post({ kind: "openFailed", message: describe(error) });
      }
      return;
    }
    case "batch":
      writes!.run(message.batch, message.requests);
      return;
    case "close": {
      let error: string | undefined;
      try {
        await writes?.close();
      } catch (cause) {
        error = describe(cause);
      }
      db?.close();
      closeWal?.();
      post({ kind: "closed", error });
    }
  }
};
