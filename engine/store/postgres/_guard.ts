/**
 * Private to the PostgreSQL store: a guard for connection errors that
 * postgres.js lets escape while the server restarts.
 *
 * @module
 */

import { describe, isConnectionError } from "./_rows.ts";

let openStores = 0;
let lastLeakLog = 0;

/**
 * While PostgreSQL restarts, postgres.js (under Deno's node:net) lets some
 * connection failures escape outside any query this store awaits: a socket's
 * connect or write error as an unhandled rejection, and a write to a socket
 * already closed (`nextWrite` run from `setImmediate`; upstream
 * porsager/postgres#1154 and #1208) as an uncaught TypeError. Unhandled,
 * either would end the process, though the store already treats the
 * connection as lost (health probe, retried writes). While a store is open
 * these two kinds are logged and swallowed here; everything else is left alone.
 */
export function guardConnectionErrors(delta: 1 | -1): void {
  const before = openStores;
  openStores = Math.max(0, openStores + delta);
  if (before === 0 && openStores === 1) {
    globalThis.addEventListener("unhandledrejection", onUnhandledRejection);
    globalThis.addEventListener("error", onUncaughtError);
  } else if (before === 1 && openStores === 0) {
    globalThis.removeEventListener("unhandledrejection", onUnhandledRejection);
    globalThis.removeEventListener("error", onUncaughtError);
  }
}

function onUnhandledRejection(event: PromiseRejectionEvent): void {
  if (!isConnectionError(event.reason)) return;
  event.preventDefault();
  logEscaped(event.reason);
}

function onUncaughtError(event: ErrorEvent): void {
  const error = event.error;
  const closedSocketWrite = error instanceof TypeError &&
    error.message.includes("reading 'write'") &&
    /nextWrite|postgres/.test(error.stack ?? "");
  if (!closedSocketWrite && !isConnectionError(error)) return;
  event.preventDefault();
  logEscaped(error);
}

function logEscaped(error: unknown): void {
  const now = Date.now();
  if (now - lastLeakLog > 10_000) {
    lastLeakLog = now;
    console.warn(
      `ThreadFlow: a PostgreSQL connection error escaped its query: ${describe(error)}.`,
    );
  }
}
