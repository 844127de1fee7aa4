import { useEffect, useState } from "preact/hooks";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { ValueView } from "../components/ValueView.tsx";
import { formatDuration, formatTime } from "../components/format.ts";
import { api } from "./_client/api.ts";
import { CANCELLABLE, cancelTask, RETRYABLE, retryTask } from "./_client/actions.ts";
import { onTaskEvents, resyncCount, startLive } from "./_client/live.ts";
import { NOT_LIVE, useCanAct } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import type { Task } from "../components/types.ts";

/** Props of {@linkcode TaskDetail}. */
export interface TaskDetailProps {
  task: Task;
}

/** One task, kept live: status, progress, timings, result or error; cancel and retry. */
export default function TaskDetail(props: TaskDetailProps) {
  const [task, setTask] = useState(props.task);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const canAct = useCanAct();
  const hydratedNotLive = useHydrated() && !canAct;

  useEffect(() => {
    startLive();
    return onTaskEvents((events) => {
      for (let i = events.length - 1; i >= 0; i--) {
        if (events[i].task.id === props.task.id) {
          setTask(events[i].task);
          return;
        }
      }
    });
  }, []);
  useEffect(() => {
    if (resyncCount.value === 0) return;
    api<{ task: Task }>(`/api/tasks/${encodeURIComponent(props.task.id)}`)
      .then((answer) => setTask(answer.task))
      .catch(() => undefined);
  }, [resyncCount.value]);

  async function act(action: "cancel" | "retry") {
    setBusy(true);
    try {
      const before = task;
      const updated = action === "cancel" ? await cancelTask(task.id) : await retryTask(task.id);
      // Events may have brought a newer state already (a quick task ends before the answer).
      setTask((current) => (current === before ? updated : current));
      setNotice({ text: action === "cancel" ? "Cancel accepted." : "Queued again.", error: false });
    } catch (error) {
      setNotice({ text: (error as Error).message, error: true });
    } finally {
      setBusy(false);
    }
  }

  const waited = task.startedAt !== null ? task.startedAt - task.runAt : null;
  const ran = task.startedAt !== null && task.finishedAt !== null
    ? task.finishedAt - task.startedAt
    : null;
  return (
    <div class="task-detail" data-status={task.status}>
      <div class="detail-head">
        <StatusBadge status={task.status} />
        {task.status === "running" && (
          <ProgressBar value={task.progress} label="Progress of this task" />
        )}
        <div class="detail-actions">
          {CANCELLABLE.has(task.status) && (
            <button
              type="button"
              class="danger"
              disabled={!canAct || busy}
              onClick={() => act("cancel")}
            >
              Cancel task
            </button>
          )}
          {RETRYABLE.has(task.status) && (
            <button
              type="button"
              disabled={!canAct || busy}
              onClick={() => act("retry")}
            >
              Retry task
            </button>
          )}
        </div>
        <p role="status" class={notice?.error ? "field-error" : "muted"}>
          {notice?.text ?? (hydratedNotLive ? NOT_LIVE : "")}
        </p>
      </div>
      <dl class="facts">
        <div>
          <dt>Type</dt>
          <dd>{task.type}</dd>
        </div>
        <div>
          <dt>Priority</dt>
          <dd>{task.priority}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{task.attempts} of {task.maxAttempts}</dd>
        </div>
        <div>
          <dt>Timeout</dt>
          <dd>{formatDuration(task.timeoutMs)}</dd>
        </div>
        <div>
          <dt>Created (UTC)</dt>
          <dd class="mono">{formatTime(task.createdAt)}</dd>
        </div>
        <div>
          <dt>Run at (UTC)</dt>
          <dd class="mono">{formatTime(task.runAt)}</dd>
        </div>
        <div>
          <dt>Started (UTC)</dt>
          <dd class="mono">{formatTime(task.startedAt)}</dd>
        </div>
        <div>
          <dt>Finished (UTC)</dt>
          <dd class="mono">{formatTime(task.finishedAt)}</dd>
        </div>
        <div>
          <dt>Waited</dt>
          <dd>{formatDuration(waited)}</dd>
        </div>
        <div>
          <dt>Ran</dt>
          <dd>{formatDuration(ran)}</dd>
        </div>
        <div>
          <dt>Worker</dt>
          <dd>{task.workerId ?? "–"}</dd>
        </div>
        <div>
          <dt>Node</dt>
          <dd class="mono">{task.nodeId ?? "–"}</dd>
        </div>
        {task.schedule && (
          <div>
            <dt>Schedule</dt>
            <dd>
              <a class="mono" href="/schedules">{task.schedule.name}</a>
              <span class="muted">{` tick ${formatTime(task.schedule.tick)}`}</span>
            </dd>
          </div>
        )}
        {task.idempotencyKey && (
          <div>
            <dt>Idempotency key</dt>
            <dd class="mono">{task.idempotencyKey}</dd>
          </div>
        )}
      </dl>
      <section aria-labelledby="payload-h">
        <h2 id="payload-h">Payload</h2>
        <ValueView label="Payload" value={task.payload} />
      </section>
      <section aria-labelledby="result-h">
        <h2 id="result-h">Result</h2>
        <ValueView label="Result" value={task.result} />
      </section>
      {task.error && (
        <section aria-labelledby="error-h" class="error-box">
          <h2 id="error-h">Error</h2>
          <p>
            <strong>{task.error.name}</strong>: {task.error.message}
          </p>
          {task.error.stack && (
            <pre class="code" tabindex={0} role="region" aria-label="Error stack">
              {task.error.stack}
            </pre>
          )}
        </section>
      )}
    </div>
  );
}
