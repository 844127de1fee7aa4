/**
 * Browser side: "Retry with changes" for a failed or cancelled task: its
 * payload and options edited, submitted as a new task linked to the old one
 * (`retryOf`), then opened.
 *
 * @module
 */

import { useState } from "preact/hooks";
import { apiAnswer, ApiError } from "./api.ts";
import type { Task } from "../../components/types.ts";

/** Props of {@linkcode RetryForm}. */
export interface RetryFormProps {
  task: Task;
  /** Whether actions may be taken now (live). */
  canAct: boolean;
}

type Field = "payload" | "priority" | "timeoutMs" | "maxAttempts";

/** The form; submitting goes to the new task's page. */
export function RetryForm({ task, canAct }: RetryFormProps) {
  const [errors, setErrors] = useState<Partial<Record<Field | "form", string>>>({});
  const [busy, setBusy] = useState(false);
  const bytes = task.payload instanceof Uint8Array ||
    (typeof task.payload === "object" && task.payload !== null && "$bytes" in task.payload);
  const id = `retry-${task.id.slice(-12)}`;

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const input: Record<string, unknown> = { type: task.type, retryOf: task.id };
    const text = String(form.get("payload") ?? "").trim();
    if (text !== "") {
      try {
        input.payload = JSON.parse(text);
      } catch (error) {
        setErrors({ payload: `Payload must be JSON: ${(error as Error).message}` });
        return;
      }
    }
    for (const name of ["priority", "timeoutMs", "maxAttempts"] as const) {
      const value = String(form.get(name) ?? "").trim();
      if (value !== "") input[name] = Number(value);
    }
    setBusy(true);
    setErrors({});
    try {
      const answer = await apiAnswer<{ task: Task }>("/api/tasks", "POST", input);
      location.assign(`/tasks/${answer.data.task.id}`);
    } catch (error) {
      const field = error instanceof ApiError ? error.field : undefined;
      const key = field === "payload" || field === "priority" || field === "timeoutMs" ||
          field === "maxAttempts"
        ? field
        : "form";
      setErrors({ [key]: (error as Error).message });
      setBusy(false);
    }
  }

  const error = (name: Field) =>
    errors[name] && <p id={`${id}-${name}-error`} class="field-error">{errors[name]}</p>;
  const described = (name: Field) => errors[name] ? `${id}-${name}-error` : undefined;
  if (bytes) {
    return <p class="muted">A byte payload cannot be edited here: use Retry task.</p>;
  }
  return (
    <form class="retry-form" onSubmit={submit} aria-label="Retry with changes">
      <div class="field">
        <label for={`${id}-payload`}>Payload (JSON)</label>
        <textarea
          id={`${id}-payload`}
          name="payload"
          class="mono"
          rows={8}
          spellcheck={false}
          defaultValue={task.payload === undefined ? "" : JSON.stringify(task.payload, null, 2)}
          aria-invalid={errors.payload ? "true" : undefined}
          aria-describedby={described("payload")}
        />
        {error("payload")}
      </div>
      <div class="retry-fields">
        <NumberField
          id={id}
          name="priority"
          label="Priority"
          value={task.priority}
          error={errors}
        />
        <NumberField
          id={id}
          name="timeoutMs"
          label="Timeout (ms)"
          value={task.timeoutMs}
          error={errors}
        />
        <NumberField
          id={id}
          name="maxAttempts"
          label="Max attempts"
          value={task.maxAttempts}
          error={errors}
        />
      </div>
      <div class="submit-actions">
        <button type="submit" disabled={!canAct || busy}>Submit as a new task</button>
        <p role="status" class={errors.form ? "field-error" : "muted"}>
          {errors.form ?? `The new task links back to ${task.id.slice(-12)}.`}
        </p>
      </div>
    </form>
  );
}

interface NumberFieldProps {
  id: string;
  name: Field;
  label: string;
  value: number;
  error: Partial<Record<string, string>>;
}

function NumberField({ id, name, label, value, error }: NumberFieldProps) {
  const message = error[name];
  return (
    <div class="field">
      <label for={`${id}-${name}`}>{label}</label>
      <input
        id={`${id}-${name}`}
        name={name}
        type="number"
        step="1"
        inputMode="numeric"
        defaultValue={String(value)}
        aria-invalid={message ? "true" : undefined}
        aria-describedby={message ? `${id}-${name}-error` : undefined}
      />
      {message && <p id={`${id}-${name}-error`} class="field-error">{message}</p>}
    </div>
  );
}
