/** Returns its payload unchanged: the cheapest task, for measuring the engine itself. */
export default function noop(payload: unknown): unknown {
  return payload;
}
