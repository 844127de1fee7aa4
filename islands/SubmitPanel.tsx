import type { InputHTMLAttributes } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, apiAnswer, ApiError } from "./_client/api.ts";
import { NOT_LIVE, useCanAct } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import {
  EXAMPLES,
  type Field,
  type FieldErrors,
  formField,
  initialForm,
  MAX_COUNT,
  notSent,
  readForm,
  type SubmitForm,
  type When,
} from "./_client/submit_form.ts";
import type { Task, TaskTypeSummary } from "../components/types.ts";

/** Props of {@linkcode SubmitPanel}. */
export interface SubmitPanelProps {
  types: TaskTypeSummary[];
  /** A retry with changes: the task it retries (sent as `retryOf`) and the form to start from. */
  retry?: { of: string; form: Partial<SubmitForm> };
}

/** The status line: what the last action did. */
interface Status {
  text: string;
  kind: "info" | "ok" | "error";
  href?: string;
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
