import { useEffect, useState } from "preact/hooks";
import { api } from "./_client/api.ts";
import { onTypeControl, startLive } from "./_client/live.ts";
import { NOT_LIVE, useCanAct } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import type { TypeControlView, TypeLimitsView } from "../components/types.ts";

/** Props of {@linkcode TypeControls}. */
export interface TypeControlsProps {
  control: TypeControlView;
}

/** The limits a type takes, in the order of the form. */
const LIMITS: [keyof TypeLimitsView, string, string][] = [
  ["concurrency", "Concurrency", "1"],
  ["ratePerSecond", "Starts per second", "any"],
  ["burst", "Burst", "1"],
];

/**
 * A task type's pause and limits: whether it runs, Pause or Resume, and a
 * limits form (Clear limits goes back to the module's). Kept live from
 * `type.*` events, whichever node or client made the change; the server's
 * refusal is shown at the field it names.
 */
export default function TypeControls(props: TypeControlsProps) {
  const [control, setControl] = useState(props.control);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<{ text: string; field?: string } | null>(null);
  const canAct = useCanAct();
  const hydratedNotLive = useHydrated() && !canAct;
  const name = control.type;
  const id = `type-${name}`;

  useEffect(() => {
    startLive();
    return onTypeControl((next) => next.type === name && setControl(next));
  }, []);

  async function act(method: string, path: string, body: unknown, done: string) {
    setBusy(true);
    try {
      const answer = await api<{ taskType: TypeControlView & { name: string } }>(
        `/api/task-types/${encodeURIComponent(name)}${path}`,
        method,
        body,
      );
      setControl({ ...answer.taskType, type: name });
      setNotice({ text: done });
    } catch (error) {
      setNotice({
        text: (error as Error).message,
        field: (error as { field?: string }).field ?? "",
      });
    } finally {
      setBusy(false);
    }
  }

  function saveLimits(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const limits: Record<string, number | null> = {};
    for (const [key] of LIMITS) {
      const text = String(form.get(key) ?? "").trim();
      limits[key] = text === "" ? null : Number(text);
    }
    void act("PUT", "/limits", limits, "Limits saved.");
  }

  const { paused, limits } = control;
  const statusId = `${id}-status`;
  return (
    <div class="type-controls">
      <div class="field-button">
        <span class={paused ? "pill pill-paused" : "pill pill-idle"} data-paused={paused}>
          {paused ? "‖ paused" : "▶ running"}
        </span>
        <button
          type="button"
          class={paused ? undefined : "danger"}
          disabled={!canAct || busy}
          onClick={() =>
            act(
              "POST",
              paused ? "/resume" : "/pause",
              undefined,
              paused ? "Resumed." : "Paused: no new task of this type starts.",
            )}
        >
          {paused ? "Resume" : "Pause"}
        </button>
      </div>
      <form class="limits-form" onSubmit={saveLimits} aria-label={`Limits of ${name}`}>
        <span class="limits-title">
          Limits{" "}
          <span class="muted">
            ({control.limitsSet ? "set here" : "the module's"}: {describeLimits(limits)})
          </span>
        </span>
        {LIMITS.map(([key, label, step]) => (
          <div class="field" key={key}>
            <label for={`${id}-${key}`}>{label}</label>
            <input
              id={`${id}-${key}`}
              name={key}
              type="number"
              min={step === "1" ? "1" : "0"}
              step={step}
              placeholder="none"
              // A new value from the server (an event, another tab) resets the field.
              key={String(limits[key])}
              defaultValue={limits[key] === undefined ? "" : String(limits[key])}
              aria-invalid={notice?.field === key ? "true" : undefined}
              aria-describedby={notice?.field === key ? statusId : undefined}
            />
          </div>
        ))}
        <div class="field-button">
          <button type="submit" disabled={!canAct || busy}>Save limits</button>
          {control.limitsSet && (
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
      <p id={statusId} role="status" class={notice?.field !== undefined ? "field-error" : "muted"}>
        {notice?.text ?? (hydratedNotLive ? NOT_LIVE : "")}
      </p>
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
