import { useEffect, useState } from "preact/hooks";
import { formatAge, formatTime } from "../components/format.ts";
import { api, ApiError } from "./_client/api.ts";
import { NOT_LIVE, useCanAct } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import { clock, onScheduleEvent, resyncCount, startLive } from "./_client/live.ts";
import type { Schedule, TaskTypeSummary } from "../components/types.ts";

/** Props of {@linkcode ScheduleBoard}. */
export interface ScheduleBoardProps {
  schedules: Schedule[];
  types: TaskTypeSummary[];
}

/** The create form's fields, as their errors are keyed. */
type Field = "name" | "cron" | "timezone" | "type" | "payload" | "priority" | "overlap" | "catchUp";
type FieldErrors = Partial<Record<Field, string>>;

/** What the create form holds, as typed. */
export interface ScheduleForm {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  payload: string;
  priority: string;
  overlap: "allow" | "skip";
  catchUp: "latest" | "all" | "none";
}

/**
 * Where a server error's `field` (`task.payload.n`, `cron`) belongs in the form.
 *
 * @example
 * ```ts ignore
 * scheduleField("task.priority"); // "priority"
 * ```
 */
export function scheduleField(field: string | undefined): Field | undefined {
  if (!field) return undefined;
  const name = field.replace(/^task\./, "").split(/[.[]/)[0];
  const known: Field[] = ["name", "cron", "timezone", "type", "payload", "priority", "overlap"];
  return [...known, "catchUp"].includes(name) ? name as Field : undefined;
}

/**
 * The create body for what the form holds, or the errors that keep it from
 * being sent (the payload's JSON is checked here; everything else by the
 * server, whose message is the one shown).
 *
 * @example
 * ```ts ignore
 * readScheduleForm({ ...form, payload: "{ no" }).errors.payload; // "Payload must be valid JSON: …"
 * ```
 */
export function readScheduleForm(
  form: ScheduleForm,
): { input: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const task: Record<string, unknown> = { type: form.type };
  if (form.payload.trim() !== "") {
    try {
      task.payload = JSON.parse(form.payload);
    } catch (error) {
      errors.payload = `Payload must be valid JSON: ${(error as Error).message}`;
    }
  }
  if (form.priority.trim() !== "") task.priority = Number(form.priority);
  const input: Record<string, unknown> = {
    name: form.name.trim(),
    cron: form.cron.trim(),
    task,
    overlap: form.overlap,
    catchUp: form.catchUp,
  };
  if (form.timezone.trim() !== "") input.timezone = form.timezone.trim();
  return { input, errors };
}

/** Keeps `list` sorted by name with `schedule` in it (replacing its older self). */
function upsert(list: Schedule[], schedule: Schedule): Schedule[] {
  const others = list.filter((s) => s.name !== schedule.name);
  return [...others, schedule].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Schedules, kept live from `schedule.*` events: each one's pattern, task,
 * next ticks and last fire, with pause, resume and delete; and a form that
 * creates one (errors shown at the field the server names).
 */
export default function ScheduleBoard(props: ScheduleBoardProps) {
  const [schedules, setSchedules] = useState(props.schedules);
  const [form, setForm] = useState<ScheduleForm>({
    name: "",
    cron: "*/5 * * * *",
    timezone: "UTC",
    type: props.types.find((t) => t.name === "noop")?.name ?? props.types[0]?.name ?? "",
    payload: "{}",
    priority: "5",
    overlap: "allow",
    catchUp: "latest",
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();
  const canAct = useCanAct();

  useEffect(() => {
    startLive();
    return onScheduleEvent((event) => {
      if (event.type === "schedule.deleted") {
        setSchedules((list) => list.filter((s) => s.name !== event.name));
      } else {
        setSchedules((list) => upsert(list, event.schedule));
      }
    });
  }, []);
  useEffect(() => {
    if (resyncCount.value === 0) return;
    api<{ schedules: Schedule[] }>("/api/schedules")
      .then((answer) => setSchedules(answer.schedules))
      .catch(() => undefined);
  }, [resyncCount.value]);

  function set<K extends keyof ScheduleForm>(key: K, value: ScheduleForm[K]) {
    setForm((current) => ({ ...current, [key]: value }));
  }

  async function onCreate(event: Event) {
    event.preventDefault();
    const { input, errors: found } = readScheduleForm(form);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setNotice({ text: "Not created: see the payload.", error: true });
      return;
    }
    setBusy(true);
    try {
      const answer = await api<{ schedule: Schedule }>("/api/schedules", "POST", input);
      setSchedules((list) => upsert(list, answer.schedule));
      setNotice({ text: `Created schedule ${answer.schedule.name}.`, error: false });
      set("name", "");
    } catch (error) {
      const field = error instanceof ApiError ? scheduleField(error.field) : undefined;
      const message = (error as Error).message;
      if (field) setErrors({ [field]: message });
      setNotice({ text: `Not created: ${message}`, error: true });
    } finally {
      setBusy(false);
    }
  }

  async function act(schedule: Schedule, action: "pause" | "resume" | "delete") {
    const path = `/api/schedules/${encodeURIComponent(schedule.name)}`;
    try {
      if (action === "delete") {
        await api(path, "DELETE");
        setSchedules((list) => list.filter((s) => s.name !== schedule.name));
        setNotice({ text: `Deleted schedule ${schedule.name}.`, error: false });
      } else {
        const body = { paused: action === "pause" };
        const answer = await api<{ schedule: Schedule }>(path, "PATCH", body);
        setSchedules((list) => upsert(list, answer.schedule));
        setNotice({
          text: `${action === "pause" ? "Paused" : "Resumed"} schedule ${schedule.name}.`,
          error: false,
        });
      }
    } catch (error) {
      setNotice({ text: (error as Error).message, error: true });
    }
  }

  const now = hydrated ? clock.value : null;
  const described = (name: Field) => errors[name] ? `schedule-${name}-error` : undefined;
  const fieldError = (name: Field) =>
    errors[name] && <p id={`schedule-${name}-error`} class="field-error">{errors[name]}</p>;
  const text = (key: "name" | "cron" | "timezone" | "priority", label: string, hint?: string) => (
    <div class="field">
      <label for={`schedule-${key}`}>{label}</label>
      <input
        id={`schedule-${key}`}
        name={key}
        type="text"
        inputMode={key === "priority" ? "numeric" : undefined}
        value={form[key]}
        placeholder={hint}
        spellcheck={false}
        onInput={(e) => set(key, (e.currentTarget as HTMLInputElement).value)}
        aria-invalid={errors[key] ? "true" : undefined}
        aria-describedby={described(key)}
      />
      {fieldError(key)}
    </div>
  );
  /** A select field; each option shows its value, and after a colon what it means when given. */
  const choice = <K extends "type" | "overlap" | "catchUp">(
    key: K,
    label: string,
    options: Array<[ScheduleForm[K], string?]>,
  ) => (
    <div class="field">
      <label for={`schedule-${key.toLowerCase()}`}>{label}</label>
      <select
        id={`schedule-${key.toLowerCase()}`}
        name={key}
        value={form[key]}
        onChange={(e) => set(key, (e.currentTarget as HTMLSelectElement).value as ScheduleForm[K])}
        aria-invalid={errors[key] ? "true" : undefined}
        aria-describedby={described(key)}
      >
        {options.map(([value, text]) => (
          <option key={value} value={value}>{text ? `${value}: ${text}` : value}</option>
        ))}
      </select>
      {fieldError(key)}
    </div>
  );
  const statusText = notice?.text ?? (hydrated && !canAct ? NOT_LIVE : "");

  return (
    <div class="schedule-board">
      <section aria-labelledby="schedules-h" class="panel">
        <h2 id="schedules-h">Every schedule</h2>
        <p role="status" class={notice?.error ? "field-error" : "muted"}>{statusText}</p>
        {schedules.length === 0
          ? <p class="muted" data-empty>No schedules yet: create one below.</p>
          : (
            <div
              class="task-list task-list-wide"
              tabindex={0}
              role="region"
              aria-label="Schedules, table"
            >
              <table class="tasks tasks-wide schedules" role="table">
                <caption class="sr-only">Schedules and their next ticks</caption>
                <thead role="rowgroup">
                  <tr role="row">
                    {["Name", "When", "Task", "Next runs (UTC)", "Last fired (UTC)", "State"].map(
                      (header) => <th key={header} scope="col" role="columnheader">{header}</th>,
                    )}
                    <th scope="col" role="columnheader">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody role="rowgroup">
                  {schedules.map((s) => (
                    <tr
                      key={s.name}
                      role="row"
                      data-schedule={s.name}
                      data-paused={String(s.paused)}
                    >
                      <td role="cell" data-label="Name" class="mono">{s.name}</td>
                      <td role="cell" data-label="When">
                        <span class="mono">{s.cron}</span>
                        {s.timezone !== "UTC" && <span class="muted">{` (${s.timezone})`}</span>}
                        <span class="muted small-note">
                          {` overlap ${s.overlap}, catch-up ${s.catchUp}`}
                        </span>
                      </td>
                      <td role="cell" data-label="Task">
                        {s.task.type}
                        {s.task.priority !== undefined && ` · p${s.task.priority}`}
                      </td>
                      <td role="cell" data-label="Next runs (UTC)" class="col-created">
                        {s.nextRuns.length === 0
                          ? <span class="muted">–</span>
                          : (
                            <ol class="next-runs">
                              {s.nextRuns.map((at, i) => (
                                <li key={at} class="mono">
                                  {formatTime(at)}
                                  {i === 0 && now !== null && at > now && (
                                    <span class="muted">{` in ${formatAge(at - now)}`}</span>
                                  )}
                                </li>
                              ))}
                            </ol>
                          )}
                      </td>
                      <td role="cell" data-label="Last fired (UTC)" class="col-created">
                        {s.lastTick === null ? <span class="muted">never</span> : (
                          <>
                            <span class="mono">{formatTime(s.lastTick)}</span>
                            {s.lastTaskId && (
                              <>
                                {" "}
                                <a class="mono" href={`/tasks/${s.lastTaskId}`}>
                                  {s.lastTaskId.slice(-12)}
                                </a>
                              </>
                            )}
                          </>
                        )}
                      </td>
                      <td role="cell" data-label="State">
                        <span class={`status ${s.paused ? "status-queued" : "status-succeeded"}`}>
                          <span aria-hidden="true">{s.paused ? "‖" : "●"}</span>{" "}
                          {s.paused ? "paused" : "active"}
                        </span>
                      </td>
                      <td role="cell" class="actions">
                        <button
                          type="button"
                          class="small"
                          disabled={!canAct}
                          onClick={() => act(s, s.paused ? "resume" : "pause")}
                          aria-label={`${s.paused ? "Resume" : "Pause"} schedule ${s.name}`}
                        >
                          {s.paused ? "Resume" : "Pause"}
                        </button>
                        <button
                          type="button"
                          class="small danger"
                          disabled={!canAct}
                          onClick={() => act(s, "delete")}
                          aria-label={`Delete schedule ${s.name}`}
                        >
                          Delete
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
      </section>
      <section aria-labelledby="create-h" class="panel">
        <h2 id="create-h">New schedule</h2>
        <form class="submit-form" onSubmit={onCreate} noValidate>
          {text("name", "Name", "nightly-report")}
          {text("cron", "Cron or @every", "*/5 * * * *  or  @every 30s")}
          {text("timezone", "Time zone", "UTC")}
          {choice("type", "Task type", props.types.map((t) => [t.name]))}
          {text("priority", "Priority (1–10)")}
          {choice("overlap", "Overlap", [
            ["allow", "fire even if the last task runs"],
            ["skip", "not while the last task runs"],
          ])}
          {choice("catchUp", "Missed ticks", [
            ["latest", "fire the latest once"],
            ["all", "fire each (up to 1,000)"],
            ["none", "skip them"],
          ])}
          <div class="field field-wide">
            <label for="schedule-payload">Payload (JSON)</label>
            <textarea
              id="schedule-payload"
              name="payload"
              rows={2}
              spellcheck={false}
              value={form.payload}
              onInput={(e) => set("payload", (e.currentTarget as HTMLTextAreaElement).value)}
              aria-invalid={errors.payload ? "true" : undefined}
              aria-describedby={described("payload")}
            />
            {fieldError("payload")}
          </div>
          <div class="field field-button">
            <button type="submit" disabled={!canAct || busy}>
              {busy ? "Creating…" : "Create schedule"}
            </button>
          </div>
        </form>
      </section>
    </div>
  );
}
