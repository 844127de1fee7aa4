import { useEffect, useState } from "preact/hooks";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { StaleNote } from "../components/StaleNote.tsx";
import { firstLine, formatCount, formatDuration, formatTime } from "../components/format.ts";
import { api } from "./_client/api.ts";
import { onStats, onTypeControl, resyncCount, startLive } from "./_client/live.ts";
import { NOT_LIVE, useCanAct, useStaleAge } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import type {
  TaskStatus,
  TaskTypeView,
  TypeControlView,
  TypeLimitsView,
} from "../components/types.ts";

/** Props of {@linkcode TaskTypes}. */
export interface TaskTypesProps {
  taskTypes: TaskTypeView[];
}

/** Seconds between two reloads of the figures (counting by type reads the store). */
const REFRESH_S = 5;

const STATUSES: TaskStatus[] = [
  "blocked",
  "scheduled",
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
];

/** Every task type as a card: counts, figures, isolation, pause and limits; kept live. */
export default function TaskTypes(props: TaskTypesProps) {
  const [types, setTypes] = useState(props.taskTypes);
  const stale = useStaleAge();

  useEffect(() => {
    startLive();
    let ticks = 0;
    const offStats = onStats(() => {
      if (++ticks % REFRESH_S === 0) void reload();
    });
    const offControl = onTypeControl((control) =>
      setTypes((current) =>
        current.map((t) => t.name === control.type ? withControl(t, control) : t)
      )
    );
    return () => {
      offStats();
      offControl();
    };
  }, []);
  useEffect(() => {
    if (resyncCount.value > 0) void reload();
  }, [resyncCount.value]);

  async function reload() {
    try {
      setTypes((await api<{ taskTypes: TaskTypeView[] }>("/api/task-types")).taskTypes);
    } catch {
      // The connection state says what went wrong.
    }
  }

  return (
    <div class={stale === null ? "types" : "types is-stale"}>
      <StaleNote ageMs={stale} />
      <ul class="type-cards">
        {types.map((type) => (
          <TypeCard
            key={type.name}
            type={type}
            onChange={(next) => setTypes((cur) => cur.map((t) => t.name === next.name ? next : t))}
          />
        ))}
      </ul>
    </div>
  );
}

/** `type` with the control an event or an answer brought. */
function withControl(type: TaskTypeView, control: TypeControlView): TaskTypeView {
  return {
    ...type,
    paused: control.paused,
    limits: control.limits,
    moduleLimits: control.moduleLimits,
    limitsSet: control.limitsSet,
  };
}

interface TypeCardProps {
  type: TaskTypeView;
  onChange(next: TaskTypeView): void;
}

function TypeCard({ type, onChange }: TypeCardProps) {
  const canAct = useCanAct();
  const hydratedNotLive = useHydrated() && !canAct;
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<{ text: string; error: boolean; field?: string } | null>(
    null,
  );
  const id = `type-${type.name}`;
  const path = `/api/task-types/${encodeURIComponent(type.name)}`;

  async function act(method: string, suffix: string, body: unknown, done: string) {
    setBusy(true);
    try {
      const answer = await api<{ taskType: TaskTypeView }>(path + suffix, method, body);
      onChange(answer.taskType);
      setNotice({ text: done, error: false });
    } catch (error) {
      const field = (error as { field?: string }).field;
      setNotice({ text: (error as Error).message, error: true, field });
    } finally {
      setBusy(false);
    }
  }

  function saveLimits(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const limits: Record<string, number | null> = {};
    for (const key of ["concurrency", "ratePerSecond", "burst"]) {
      const text = String(form.get(key) ?? "").trim();
      limits[key] = text === "" ? null : Number(text);
    }
    void act("PUT", "/limits", limits, "Limits saved.");
  }

  const rate = type.lastHour.failureRate;
  const ended = type.lastHour.succeeded + type.lastHour.failed;
  const fieldError = (field: string) =>
    notice?.error && notice.field === field ? `${id}-status` : undefined;
  return (
    <li class={type.paused ? "type-card type-paused" : "type-card"} data-type={type.name}>
      <div class="type-head">
        <h2 id={`${id}-h`}>{type.name}</h2>
        <span class={type.paused ? "pill pill-paused" : "pill pill-idle"}>
          {type.paused ? "‖ paused" : "▶ running"}
        </span>
      </div>
      <p class="muted type-source">
        {type.builtin ? "Built-in" : "From the tasks folder"} ·{" "}
        <span class="mono break">{type.source.split("/").pop()}</span>
      </p>
      <ul class="type-counts" aria-label={`Tasks of ${type.name} by status`}>
        {STATUSES.map((status) => (
          <li key={status}>
            <a href={`/tasks?type=${encodeURIComponent(type.name)}&status=${status}`}>
              <StatusBadge status={status} />{" "}
              <span class="num" data-count={status}>{formatCount(type.counts[status] ?? 0)}</span>
            </a>
          </li>
        ))}
      </ul>
      <dl class="facts type-facts">
        <div>
          <dt>Run time, last hour</dt>
          <dd data-fact="runtime">
            {type.runMs.count === 0
              ? "–"
              : `p50 ${formatDuration(type.runMs.p50)} · p95 ${formatDuration(type.runMs.p95)}`}
          </dd>
        </div>
        <div>
          <dt>Failure rate, last hour</dt>
          <dd data-fact="failures">
            {rate === null
              ? "no attempts"
              : `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 0)} % (${
                formatCount(type.lastHour.failed)
              } of ${formatCount(ended)} attempts)`}
          </dd>
        </div>
        <div>
          <dt>Isolation</dt>
          <dd data-fact="isolation">
            Web Worker; {describePermissions(type.permissions)}
          </dd>
        </div>
        <div class="type-error">
          <dt>Last error</dt>
          <dd data-fact="last-error">
            {type.lastError === null ? "none" : (
              <>
                <a href={`/tasks/${type.lastError.taskId}`}>
                  <strong>{type.lastError.name}</strong>: {firstLine(type.lastError.message)}
                </a>{" "}
                <span class="muted mono">{formatTime(type.lastError.at)} UTC</span>
              </>
            )}
          </dd>
        </div>
      </dl>
      <div class="type-controls">
        <button
          type="button"
          class={type.paused ? undefined : "danger"}
          disabled={!canAct || busy}
          onClick={() =>
            act(
              "POST",
              type.paused ? "/resume" : "/pause",
              undefined,
              type.paused ? "Resumed." : "Paused: no new task of this type starts.",
            )}
        >
          {type.paused ? "Resume" : "Pause"}
        </button>
        <form class="limits-form" onSubmit={saveLimits} aria-label={`Limits of ${type.name}`}>
          <span id={`${id}-limits`} class="limits-title">
            Limits{" "}
            <span class="muted">
              ({type.limitsSet ? "set here" : "the module's"}: {describeLimits(type.limits)})
            </span>
          </span>
          <LimitField
            id={id}
            name="concurrency"
            label="Concurrency"
            value={type.limits.concurrency}
            step="1"
            error={fieldError("concurrency")}
          />
          <LimitField
            id={id}
            name="ratePerSecond"
            label="Starts per second"
            value={type.limits.ratePerSecond}
            step="any"
            error={fieldError("ratePerSecond")}
          />
          <LimitField
            id={id}
            name="burst"
            label="Burst"
            value={type.limits.burst}
            step="1"
            error={fieldError("burst")}
          />
          <div class="limits-actions">
            <button type="submit" disabled={!canAct || busy}>Save limits</button>
            {type.limitsSet && (
              <button
                type="button"
                class="link-button"
                disabled={!canAct || busy}
                onClick={() => act("DELETE", "/limits", undefined, "Back to the module's limits.")}
              >
                Clear limits
              </button>
            )}
          </div>
        </form>
        <p
          id={`${id}-status`}
          role="status"
          class={notice?.error ? "field-error" : "muted"}
        >
          {notice?.text ?? (hydratedNotLive ? NOT_LIVE : "")}
        </p>
      </div>
    </li>
  );
}

interface LimitFieldProps {
  id: string;
  name: keyof TypeLimitsView;
  label: string;
  value: number | undefined;
  step: string;
  error: string | undefined;
}

function LimitField({ id, name, label, value, step, error }: LimitFieldProps) {
  return (
    <div class="field">
      <label for={`${id}-${name}`}>{label}</label>
      <input
        id={`${id}-${name}`}
        name={name}
        type="number"
        min={step === "1" ? "1" : "0"}
        step={step}
        inputMode={step === "1" ? "numeric" : "decimal"}
        placeholder="none"
        // A new value from the server (an event, another tab) resets the field.
        key={String(value)}
        defaultValue={value === undefined ? "" : String(value)}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={error}
      />
    </div>
  );
}

/** Limits in a few words: "2 at once, 50/s (burst 50)" or "none". */
function describeLimits(limits: TypeLimitsView): string {
  const parts: string[] = [];
  if (limits.concurrency !== undefined) parts.push(`${limits.concurrency} at once`);
  if (limits.ratePerSecond !== undefined) {
    parts.push(
      `${limits.ratePerSecond}/s` + (limits.burst === undefined ? "" : ` (burst ${limits.burst})`),
    );
  }
  return parts.length === 0 ? "none" : parts.join(", ");
}

/** Permissions in a few words: "no permissions" or "net: example.com:443; read: all". */
function describePermissions(permissions: Record<string, boolean | string[]>): string {
  const granted = Object.entries(permissions).flatMap(([kind, value]) =>
    value === false || (Array.isArray(value) && value.length === 0)
      ? []
      : [`${kind}: ${value === true ? "all" : value.join(", ")}`]
  );
  return granted.length === 0 ? "no permissions" : `permissions ${granted.join("; ")}`;
}
