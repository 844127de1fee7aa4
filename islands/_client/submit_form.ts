/**
 * Browser side: the submit form's model. What the form holds as typed, the
 * body it sends, the errors that keep it from sending, and where a server
 * error's field belongs; the island `SubmitPanel.tsx` only draws it.
 *
 * @module
 */

/** A starting payload per built-in type, so the editor shows the expected shape. */
export const EXAMPLES: Record<string, string> = {
  noop: '{ "hello": "world" }',
  sleep: '{ "ms": 3000 }',
  fib: '{ "n": 30 }',
  primes: '{ "limit": 1000000 }',
  sha256: '{ "data": "hello", "rounds": 10000 }',
  gzip: '{ "data": "hello hello hello" }',
};

/** Most tasks one submit may create (the batch endpoint's limit). */
export const MAX_COUNT = 10_000;

/** The form's fields, as their errors are keyed. */
export type Field =
  | "type"
  | "priority"
  | "payload"
  | "when"
  | "timeoutMs"
  | "maxAttempts"
  | "idempotencyKey"
  | "count";
/** The errors that keep the form from being sent, at their fields. */
export type FieldErrors = Partial<Record<Field, string>>;

/** How each field is named in the status line. */
const FIELD_NAMES: Record<Field, string> = {
  type: "type",
  priority: "priority",
  payload: "payload",
  when: "start",
  timeoutMs: "timeout",
  maxAttempts: "max attempts",
  idempotencyKey: "idempotency key",
  count: "count",
};

/** When the task may start. */
export type When = "now" | "delay" | "at";

/**
 * Where a server error's `field` (e.g. `tasks[3].payload.n`) belongs in this form.
 *
 * @example
 * ```ts ignore
 * formField("tasks[3].payload.n"); // "payload"
 * ```
 */
export function formField(field: string | undefined): Field | undefined {
  if (!field) return undefined;
  const name = field.replace(/^tasks\[\d+\]\./, "").split(/[.[]/)[0];
  if (name === "runAt" || name === "delayMs") return "when";
  if (name === "tasks") return "count";
  return name in FIELD_NAMES ? name as Field : undefined;
}

/** What the form holds, as typed. */
export interface SubmitForm {
  type: string;
  priority: string;
  payload: string;
  when: When;
  delayMs: string;
  /** A `datetime-local` value, in the browser's time zone. */
  runAt: string;
  timeoutMs: string;
  maxAttempts: string;
  idempotencyKey: string;
  count: string;
}

/**
 * A fresh form for a task type: priority 5, its example payload, start now,
 * the engine's defaults, one task.
 *
 * @example
 * ```ts ignore
 * initialForm("fib").payload; // '{ "n": 30 }'
 * ```
 */
export function initialForm(type: string): SubmitForm {
  return {
    type,
    priority: "5",
    payload: EXAMPLES[type] ?? "{}",
    when: "now",
    delayMs: "1000",
    runAt: "",
    timeoutMs: "",
    maxAttempts: "",
    idempotencyKey: "",
    count: "1",
  };
}

/**
 * The submit body for what the form holds, or the errors that keep it from
 * being sent. Ranges the server checks (priority, timeout, attempts) are left
 * to it, so its message is the one shown; what only the form knows (JSON, the
 * time, count) is checked here.
 *
 * @example
 * ```ts ignore
 * const { input, errors } = readForm({ ...form, payload: "{ not json" });
 * ```
 */
export function readForm(
  form: SubmitForm,
): { input: Record<string, unknown>; count: number; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const input: Record<string, unknown> = { type: form.type };
  const number = (text: string) => (text.trim() === "" ? undefined : Number(text));
  const priority = number(form.priority);
  if (priority !== undefined) input.priority = priority;
  if (form.payload.trim() !== "") {
    try {
      input.payload = JSON.parse(form.payload);
    } catch (error) {
      errors.payload = `Payload must be valid JSON: ${(error as Error).message}`;
    }
  }
  if (form.when === "delay") {
    const delay = number(form.delayMs);
    if (delay === undefined) errors.when = "Delay must be a number of milliseconds.";
    else input.delayMs = delay;
  } else if (form.when === "at") {
    const at = new Date(form.runAt).getTime();
    if (form.runAt === "" || Number.isNaN(at)) {
      errors.when = "Run at must be a date and time.";
    } else {
      input.runAt = new Date(at).toISOString();
    }
  }
  const timeout = number(form.timeoutMs);
  if (timeout !== undefined) input.timeoutMs = timeout;
  const attempts = number(form.maxAttempts);
  if (attempts !== undefined) input.maxAttempts = attempts;
  const key = form.idempotencyKey.trim();
  if (key !== "") input.idempotencyKey = key;
  const count = number(form.count) ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    errors.count = `Count must be a whole number from 1 to ${MAX_COUNT}: received "${form.count}".`;
  } else if (count > 1 && key !== "") {
    errors.count = "An idempotency key names one task: leave the key empty to submit several.";
  }
  return { input, count, errors };
}

/**
 * The status line for errors kept at their fields: which fields, not the
 * messages again.
 *
 * @example
 * ```ts ignore
 * notSent({ payload: "…", count: "…" }); // "Not submitted: check the payload and count fields."
 * ```
 */
export function notSent(errors: FieldErrors): string {
  const names = (Object.keys(errors) as Field[]).filter((f) => errors[f]).map((f) =>
    FIELD_NAMES[f]
  );
  return `Not submitted: check the ${names.join(" and ")} field${names.length > 1 ? "s" : ""}.`;
}
