import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "./_client/api.ts";
import { useHydrated } from "./_client/hydrated.ts";
import type { Task, TaskTypeSummary } from "../components/types.ts";

/** Props of {@linkcode SubmitPanel}. */
export interface SubmitPanelProps {
  types: TaskTypeSummary[];
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

type FieldErrors = Partial<Record<"type" | "priority" | "payload" | "delayMs" | "count", string>>;

/**
 * Where a server error's `field` (e.g. `tasks[3].payload.n`) belongs in this form.
 *
 * @example
 * ```ts ignore
 * formField("tasks[3].payload.n"); // "payload"
 * ```
 */
export function formField(field: string | undefined): keyof FieldErrors | undefined {
  if (!field) return undefined;
  const name = field.replace(/^tasks\[\d+\]\./, "").split(/[.[]/)[0];
  if (name === "runAt") return "delayMs";
  if (name === "tasks") return "count";
  return ["type", "priority", "payload", "delayMs"].includes(name)
    ? name as keyof FieldErrors
    : undefined;
}

/**
 * The submit form: type, priority, JSON payload (checked before sending),
 * delay, and a count to submit many at once through the batch endpoint.
 */
export default function SubmitPanel(props: SubmitPanelProps) {
  const [types, setTypes] = useState(props.types);
  const initialType = types.find((t) => t.name === "sleep")?.name ?? types[0]?.name ?? "";
  const [type, setType] = useState(initialType);
  const [payload, setPayload] = useState(EXAMPLES[initialType] ?? "{}");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState<{ text: string; error: boolean; href?: string } | null>(
    null,
  );
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  const [priorityText, setPriorityText] = useState("5");
  const [delayText, setDelayText] = useState("0");
  const [countText, setCountText] = useState("1");

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

  function onTypeChange(next: string) {
    // Swap the example only while the editor still holds the previous example.
    if (payload.trim() === (EXAMPLES[type] ?? "{}")) setPayload(EXAMPLES[next] ?? "{}");
    setType(next);
  }

  function payloadError(text: string): string | undefined {
    if (text.trim() === "") return undefined;
    try {
      JSON.parse(text);
      return undefined;
    } catch (error) {
      return `Payload must be valid JSON: ${(error as Error).message}`;
    }
  }

  async function onSubmit(event: Event) {
    event.preventDefault();
    const priority = Number(priorityText);
    const delayMs = Number(delayText || 0);
    const count = Number(countText || 1);
    const found: FieldErrors = {};
    const jsonError = payloadError(payload);
    if (jsonError) found.payload = jsonError;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      found.count = `Count must be a whole number from 1 to ${MAX_COUNT}.`;
    }
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const task: Record<string, unknown> = { type, priority };
    if (payload.trim() !== "") task.payload = JSON.parse(payload);
    if (delayMs > 0) task.delayMs = delayMs;
    setBusy(true);
    setMessage(null);
    try {
      if (count === 1) {
        const answer = await api<{ task: Task }>("/api/tasks", "POST", task);
        setMessage({
          text: `Submitted ${answer.task.type} task ${answer.task.id.slice(-12)}.`,
          error: false,
          href: `/tasks/${answer.task.id}`,
        });
      } else {
        const tasks = Array.from({ length: count }, () => task);
        const answer = await api<{ tasks: Task[] }>("/api/tasks/batch", "POST", { tasks });
        setMessage({ text: `Submitted ${answer.tasks.length} ${type} tasks.`, error: false });
      }
    } catch (error) {
      const field = error instanceof ApiError ? formField(error.field) : undefined;
      if (field) setErrors({ [field]: (error as Error).message });
      setMessage({ text: (error as Error).message, error: true });
    } finally {
      setBusy(false);
    }
  }

  const described = (name: keyof FieldErrors) => errors[name] ? `submit-${name}-error` : undefined;
  const fieldError = (name: keyof FieldErrors) =>
    errors[name] && <p id={`submit-${name}-error`} class="field-error">{errors[name]}</p>;

  return (
    <form class="submit-form" onSubmit={onSubmit} noValidate>
      <div class="field">
        <label for="submit-type">Type</label>
        <select
          id="submit-type"
          name="type"
          value={type}
          onChange={(e) => onTypeChange((e.currentTarget as HTMLSelectElement).value)}
          aria-invalid={errors.type ? "true" : undefined}
          aria-describedby={described("type")}
        >
          {types.map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
        </select>
        {fieldError("type")}
      </div>
      <div class="field">
        <label for="submit-priority">Priority (1–10)</label>
        <input
          id="submit-priority"
          name="priority"
          type="number"
          min={1}
          max={10}
          step={1}
          value={priorityText}
          onInput={(e) => setPriorityText((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={errors.priority ? "true" : undefined}
          aria-describedby={described("priority")}
        />
        {fieldError("priority")}
      </div>
      <div class="field field-wide">
        <label for="submit-payload">Payload (JSON)</label>
        <textarea
          id="submit-payload"
          name="payload"
          rows={3}
          spellcheck={false}
          value={payload}
          onInput={(e) => {
            const text = (e.currentTarget as HTMLTextAreaElement).value;
            setPayload(text);
            setErrors((current) => ({ ...current, payload: payloadError(text) }));
          }}
          aria-invalid={errors.payload ? "true" : undefined}
          aria-describedby={described("payload")}
        />
        {fieldError("payload")}
      </div>
      <div class="field">
        <label for="submit-delay">Delay (ms)</label>
        <input
          id="submit-delay"
          name="delayMs"
          type="number"
          min={0}
          step={100}
          value={delayText}
          onInput={(e) => setDelayText((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={errors.delayMs ? "true" : undefined}
          aria-describedby={described("delayMs")}
        />
        {fieldError("delayMs")}
      </div>
      <div class="field">
        <label for="submit-count">Count</label>
        <input
          id="submit-count"
          name="count"
          type="number"
          min={1}
          max={MAX_COUNT}
          step={1}
          value={countText}
          onInput={(e) => setCountText((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={errors.count ? "true" : undefined}
          aria-describedby={described("count")}
        />
        {fieldError("count")}
      </div>
      <div class="field field-wide submit-actions">
        <button type="submit" disabled={!hydrated || busy || types.length === 0}>
          {busy ? "Submitting…" : "Submit"}
        </button>
        <p role="status" class={message?.error ? "field-error" : "muted"}>
          {message && (message.href ? <a href={message.href}>{message.text}</a> : message.text)}
        </p>
      </div>
    </form>
  );
}
