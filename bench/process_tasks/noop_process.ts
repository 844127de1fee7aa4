/** The built-in no-op, in a worker process: measures process isolation's own cost. */
export const isolation = "process";

export default function noopProcess(payload: unknown): unknown {
  return payload;
}
