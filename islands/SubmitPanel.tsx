import type { InputHTMLAttributes } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, apiAnswer, ApiError } from "./_client/api.ts";
import { NOT_LIVE, useCanAct } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import type { Task, TaskTypeSummary } from "../components/types.ts";

/** Props of {@linkcode SubmitPanel}. */
export interface SubmitPanelProps {
  types: TaskTypeSummary[];
  /** A retry with changes: the task it retries (sent as `retryOf`) and the form to start from. */
  retry?: { of: string; form: Partial<SubmitForm> };
}

/** A starting payload per built-in type, so the editor shows the expected shape. */
const EXAMPLES: Record<string, string> = {
  noop: '{ "hello": "world" }',
  sleep: '{ "ms": 3000 }',
  fib: '{ "n": 30 }',
  primes: '{ "limit": 1000000 }',
  sha256: '{ "data": "hello", "rounds": 10000 }',
  gzip: '{ "data": "hello hello hello" }',
};

/** Most tasks one submit may create (the batch endpoint's limit). */
const MAX_COUNT = 10_000;

/** The form's fields, as their errors are keyed. */
type Field =
  | "type"
  | "priority"
  | "payload"
  | "when"
  | "timeoutMs"
  | "maxAttempts"
  | "idempotencyKey"
  | "count";
type FieldErrors = Partial<Record<Field, string>>;

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
type When = "now" | "delay" | "at";

/** The status line: what the last action did. */
interface Status {
  text: string;
  kind: "info" | "ok" | "error";
  href?: string;
}

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
 * The submit form: type, priority, JSON payload (checked before sending),
 * start (now, after a delay, or at a time), timeout, max attempts,
 * idempotency key, and a count to submit many at once through the batch
 * endpoint. One status line says what the last submit did; a field's error
 * is shown at the field only.
 */
export default function SubmitPanel(props: SubmitPanelProps) {
  const [types, setTypes] = useState(props.types);
  const initialType = types.find((t) => t.name === "sleep")?.name ?? types[0]?.name ?? "";
  const [form, setForm] = useState<SubmitForm>(() => ({
    ...initialForm(props.retry?.form.type ?? initialType),
    ...props.retry?.form,
  }));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [status, setStatus] = useState<Status | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  const canAct = useCanAct();

  useEffect(() => {
    // Task types can be added to tasksDir while the page is open; the server's list is current.
    api<{ taskTypes: TaskTypeSummary[] }>("/api/task-types")
      .then((answer) => {
        const names = answer.taskTypes.map((t) => t.name).sort();
        if (names.join() !== types.map((t) => t.name).join()) {
          setTypes(names.map((name) => ({
            name,
            builtin: answer.taskTypes.find((t) => t.name === name)!.builtin,
          })));
        }
      })
      .catch(() => undefined);
  }, []);

  function set<K extends keyof SubmitForm>(key: K, value: SubmitForm[K]) {
    setForm((current) => ({ ...current, [key]: value }));
  }

  function onTypeChange(next: string) {
    // Swap the example only while the editor still holds the previous example.
    setForm((current) => ({
      ...current,
      type: next,
      payload: current.payload.trim() === (EXAMPLES[current.type] ?? "{}")
        ? EXAMPLES[next] ?? "{}"
        : current.payload,
    }));
  }

  async function onSubmit(event: Event) {
    event.preventDefault();
    const { input, count, errors: found } = readForm(form);
    if (props.retry) input.retryOf = props.retry.of;
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setStatus({ text: notSent(found), kind: "error" });
      return;
    }
    setBusy(true);
    setStatus({ text: count === 1 ? "Submitting…" : `Submitting ${count} tasks…`, kind: "info" });
    try {
      if (count === 1) {
        const answer = await apiAnswer<{ task: Task }>("/api/tasks", "POST", input);
        const task = answer.data.task;
        setStatus({
          text: answer.status === 200
            ? `Already submitted: ${task.type} task ${task.id.slice(-12)} has this idempotency key.`
            : `Submitted ${task.type} task ${task.id.slice(-12)}.`,
          kind: "ok",
          href: `/tasks/${task.id}`,
        });
      } else {
        const tasks = Array.from({ length: count }, () => input);
        const answer = await api<{ tasks: Task[] }>("/api/tasks/batch", "POST", { tasks });
        setStatus({ text: `Submitted ${answer.tasks.length} ${form.type} tasks.`, kind: "ok" });
      }
    } catch (error) {
      const field = error instanceof ApiError ? formField(error.field) : undefined;
      if (field) {
        const message = (error as Error).message;
        setErrors({ [field]: message });
        setStatus({ text: notSent({ [field]: message }), kind: "error" });
      } else {
        setStatus({ text: `Not submitted: ${(error as Error).message}`, kind: "error" });
      }
    } finally {
      setBusy(false);
    }
  }

  const described = (name: Field) => errors[name] ? `submit-${name}-error` : undefined;
  const invalid = (name: Field) => errors[name] ? "true" : undefined;
  const fieldError = (name: Field) =>
    errors[name] && <p id={`submit-${name}-error`} class="field-error">{errors[name]}</p>;
  /** One labelled input bound to `key` of the form, with the error of `field` below it. */
  const input = (
    key: Exclude<keyof SubmitForm, "type" | "payload" | "when">,
    field: Field,
    id: string,
    label: string,
    attributes: InputHTMLAttributes<HTMLInputElement>,
  ) => (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        {...attributes}
        id={id}
        name={key}
        value={form[key]}
        onInput={(e) => set(key, (e.currentTarget as HTMLInputElement).value)}
        aria-invalid={invalid(field)}
        aria-describedby={described(field)}
      />
      {fieldError(field)}
    </div>
  );
  const shown: Status | null = hydrated && !canAct && !busy
    ? { text: NOT_LIVE, kind: "info" }
    : status;

  return (
    <form class="submit-form" onSubmit={onSubmit} noValidate>
      <div class="field">
        <label for="submit-type">Type</label>
        <select
          id="submit-type"
          name="type"
          value={form.type}
          onChange={(e) => onTypeChange((e.currentTarget as HTMLSelectElement).value)}
          aria-invalid={invalid("type")}
          aria-describedby={described("type")}
        >
          {types.map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
        </select>
        {fieldError("type")}
      </div>
      {input("priority", "priority", "submit-priority", "Priority (1–10)", {
        type: "number",
        min: 1,
        max: 10,
        step: 1,
      })}
      <div class="field field-wide">
        <label for="submit-payload">Payload (JSON)</label>
        <textarea
          id="submit-payload"
          name="payload"
          rows={3}
          spellcheck={false}
          value={form.payload}
          onInput={(e) => {
            const text = (e.currentTarget as HTMLTextAreaElement).value;
            set("payload", text);
            setErrors((current) => ({
              ...current,
              payload: readForm({ ...form, payload: text }).errors.payload,
            }));
          }}
          aria-invalid={invalid("payload")}
          aria-describedby={described("payload")}
        />
        {fieldError("payload")}
      </div>
      <div class="field">
        <label for="submit-when">Start</label>
        <select
          id="submit-when"
          name="when"
          value={form.when}
          onChange={(e) => set("when", (e.currentTarget as HTMLSelectElement).value as When)}
          aria-invalid={invalid("when")}
          aria-describedby={described("when")}
        >
          <option value="now">now</option>
          <option value="delay">after a delay</option>
          <option value="at">at a time</option>
        </select>
      </div>
      {form.when === "delay"
        ? input("delayMs", "when", "submit-delay", "Delay (ms)", {
          type: "number",
          min: 0,
          step: 100,
        })
        : form.when === "at"
        ? input("runAt", "when", "submit-run-at", "Run at (your time)", {
          type: "datetime-local",
          step: 1,
        })
        : null}
      {input("timeoutMs", "timeoutMs", "submit-timeout", "Timeout (ms)", {
        type: "number",
        min: 1,
        step: 1000,
        placeholder: "default",
      })}
      {input("maxAttempts", "maxAttempts", "submit-attempts", "Max attempts", {
        type: "number",
        min: 1,
        max: 100,
        step: 1,
        placeholder: "default",
      })}
      {input("idempotencyKey", "idempotencyKey", "submit-key", "Idempotency key", {
        maxLength: 200,
        placeholder: "none",
      })}
      {input("count", "count", "submit-count", "Count", {
        type: "number",
        min: 1,
        max: MAX_COUNT,
        step: 1,
      })}
      <div class="field field-wide submit-actions">
        <button type="submit" disabled={!canAct || busy || types.length === 0}>
          {busy ? "Submitting…" : "Submit"}
        </button>
        <p
          role="status"
          class={`submit-status ${shown?.kind === "error" ? "field-error" : "muted"}`}
        >
          {shown && (shown.href ? <a href={shown.href}>{shown.text}</a> : shown.text)}
        </p>
      </div>
    </form>
  );
}

/** The status line for errors kept at their fields: which fields, not the messages again. */
function notSent(errors: FieldErrors): string {
  const names = (Object.keys(errors) as Field[]).filter((f) => errors[f]).map((f) =>
    FIELD_NAMES[f]
  );
  return `Not submitted: check the ${names.join(" and ")} field${names.length > 1 ? "s" : ""}.`;
}
