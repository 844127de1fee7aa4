/**
 * Imported first by the task worker inside a worker process: the process's
 * stdout carries frames to the pool, so whatever a task prints there goes to
 * stderr instead (which the pool passes on to its own).
 *
 * @module
 */

const toStderr = (...data: unknown[]) => console.error(...data);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.dir = toStderr;
console.dirxml = toStderr;
console.table = toStderr;
Object.defineProperty(Deno, "stdout", {
  configurable: true,
  enumerable: true,
  writable: true,
  value: Deno.stderr,
});
