/**
 * Private to the SQLite store: where its writes run. On a file, on a thread
 * of their own (`_write_worker.ts`) with a second connection, so the event
 * loop serving requests never runs a statement that writes, a COMMIT or a
 * checkpoint; in the store's own thread for `:memory:` (a second connection
 * would see another database) or when asked to.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { StoreUnavailableError } from "../../model/errors.ts";
import type { StatusCounts } from "../../model/task.ts";
import { walSync } from "./_open.ts";
import { SqliteWrites, type WriteReport, type WriteRequest } from "./_writes.ts";

/** Messages to the write thread. */
export type ToWriteThread =
  | { kind: "open"; path: string; synchronous: "full" | "normal"; counts: StatusCounts }
  | { kind: "batch"; batch: number; requests: WriteRequest[] }
  | { kind: "close" };

/** Messages from the write thread besides the writes' reports. */
export type FromWriteThread =
  | { kind: "opened" }
  | { kind: "openFailed"; message: string }
  | { kind: "closed"; error?: string };

/** Where the store sends its batches of writes. */
export interface WriteChannel {
  /** Runs `requests` as one transaction, batch number `batch`; reports come to the store. */
  send(batch: number, requests: WriteRequest[]): void;
  /** Waits for every sync, then closes the writes' connection (and thread). */
  close(): Promise<void>;
}

/** How the write side reaches the store. */
export interface WriteListener {
  report(report: WriteReport): void;
  /** The thread died: no report will come for the batches it held. */
  lost(error: StoreUnavailableError): void;
}

/**
 * Starts the write thread on the database at `path` (open and migrated by
 * the store, whose tasks per status are `counts`) and resolves once its
 * connection is open.
 */
export async function startWriteThread(
  path: string,
  synchronous: "full" | "normal",
  counts: StatusCounts,
  listener: WriteListener,
): Promise<WriteChannel> {
  const worker = new Worker(new URL("./_write_worker.ts", import.meta.url), {
    type: "module",
    name: "threadflow-sqlite-writes",
  });
  const opened = Promise.withResolvers<void>();
  let closed: PromiseWithResolvers<void> | undefined;
  let alive = true;
  const lose = (why: string) => {
    if (!alive) return;
    alive = false;
    worker.terminate();
    const error = new StoreUnavailableError(
      `The SQLite store's write thread for "${path}" stopped: ${why}.`,
    );
    opened.reject(error);
    closed?.resolve();
    listener.lost(error);
  };
  worker.onmessage = (event: MessageEvent<WriteReport | FromWriteThread>) => {
    const message = event.data;
    switch (message.kind) {
      case "opened":
        return opened.resolve();
      case "openFailed":
        alive = false;
        worker.terminate();
        return opened.reject(
          new StoreUnavailableError(
            `Cannot open the SQLite database at "${path}" for writing: ${message.message}.`,
          ),
        );
      case "closed":
        alive = false;
        worker.terminate();
        if (message.error === undefined) closed?.resolve();
        else closed?.reject(new StoreUnavailableError(message.error));
        return;
      default:
        listener.report(message);
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    lose(event.message);
  };
  worker.onmessageerror = () => lose("a message could not be read");
  const post = (message: ToWriteThread) => worker.postMessage(message);
  post({ kind: "open", path, synchronous, counts });
  await opened.promise;
  return {
    send(batch, requests) {
      if (!alive) {
        return listener.lost(
          new StoreUnavailableError(`The SQLite store's write thread for "${path}" is gone.`),
        );
      }
      post({ kind: "batch", batch, requests });
    },
    close() {
      if (!alive) return Promise.resolve();
      closed = Promise.withResolvers<void>();
      post({ kind: "close" });
      return closed.promise;
    },
  };
}

/** Runs the writes in this thread, on the store's own connection `db` (tasks per status `counts`). */
export function inlineWrites(
  db: DatabaseSync,
  path: string,
  synchronous: "full" | "normal",
  counts: StatusCounts,
  listener: WriteListener,
): WriteChannel {
  const wal = walSync(path, synchronous);
  const writes = new SqliteWrites(db, path, wal, counts, (report) => listener.report(report));
  return {
    send(batch, requests) {
      writes.run(batch, requests);
    },
    async close() {
      try {
        await writes.close();
      } finally {
        wal?.close();
      }
    },
  };
}
