import { useEffect, useState } from "preact/hooks";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { ValueView } from "../components/ValueView.tsx";
import { AttemptTimeline } from "../components/AttemptTimeline.tsx";
import { TaskRelatives } from "../components/TaskRelatives.tsx";
import { attemptTimeline } from "../components/attempts.ts";
import { formatDuration, formatTime } from "../components/format.ts";
import { api } from "./_client/api.ts";
import { CANCELLABLE, cancelTask, RETRYABLE, retryTask } from "./_client/actions.ts";
import { onTaskEvents, resyncCount, startLive } from "./_client/live.ts";
import { NOT_LIVE, useCanAct } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import type { Task } from "../components/types.ts";
import type { ComponentChildren } from "preact";

/** Props of {@linkcode TaskDetail}. */
export interface TaskDetailProps {
  task: Task;
  /** The tasks it depends on (`dependsOn`), as found. */
  parents: Task[];
  /** The tasks that depend on it, newest first (at most `childLimit`). */
  dependents: Task[];
  /** How many children were asked for: a full list may have more. */
  childLimit: number;
}

/**
 * One task, kept live: status, progress, timings, attempts, the tasks it
 * depends on and those that depend on it, result or error; cancel, retry and
 * retry with changes.
 */
export default function TaskDetail(props: TaskDetailProps) {
  const [task, setTask] = useState(props.task);
  const [parents, setParents] = useState(props.parents);
  const [dependents, setDependents] = useState(props.dependents);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const canAct = useCanAct();
  const hydratedNotLive = useHydrated() && !canAct;

  useEffect(() => {
    startLive();
    return onTaskEvents((events) => {
      const latest = new Map(events.map((event) => [event.task.id, event.task]));
      const own = latest.get(props.task.id);
      if (own !== undefined) setTask(own);
      const update = (list: Task[]) =>
        list.some((t) => latest.has(t.id)) ? list.map((t) => latest.get(t.id) ?? t) : list;
      setParents(update);
      setDependents(update);
    });
  }, []);
  useEffect(() => {
    if (resyncCount.value === 0) return;
    const path = `/api/tasks/${encodeURIComponent(props.task.id)}`;
    api<{ task: Task }>(path).then((answer) => setTask(answer.task)).catch(() => undefined);
    api<{ tasks: Task[] }>(`${path}/dependents?limit=${props.childLimit}`)
      .then((answer) => setDependents(answer.tasks))
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

  const runs = attemptTimeline(task).length;
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
          {RETRYABLE.has(task.status) && (
            <a class="link-button" href={`/tasks/${task.id}/retry`}>Retry with changes</a>
          )}
        </div>
        <p role="status" class={notice?.error ? "field-error" : "muted"}>
          {notice?.text ?? (hydratedNotLive ? NOT_LIVE : "")}
        </p>
      </div>
      <dl class="facts">
        <Fact term="Type">{task.type}</Fact>
        <Fact term="Priority">{task.priority}</Fact>
        <div>
          <dt>Attempts</dt>
          <dd data-fact="attempts">
            {task.attempts} of {task.maxAttempts}
            {runs > task.attempts && <span class="muted">· {runs} runs in all</span>}
          </dd>
        </div>
        <Fact term="Timeout">{formatDuration(task.timeoutMs)}</Fact>
        <Fact term="Created (UTC)" mono>{formatTime(task.createdAt)}</Fact>
        <Fact term="Run at (UTC)" mono>{formatTime(task.runAt)}</Fact>
        <Fact term="Started (UTC)" mono>{formatTime(task.startedAt)}</Fact>
        <Fact term="Finished (UTC)" mono>{formatTime(task.finishedAt)}</Fact>
        <Fact term="Waited">{formatDuration(waited)}</Fact>
        <Fact term="Ran">{formatDuration(ran)}</Fact>
        <Fact term="Worker">{task.workerId ?? "–"}</Fact>
        <Fact term="Node" mono>{task.nodeId ?? "–"}</Fact>
        {task.schedule && (
          <div>
            <dt>Schedule</dt>
            <dd>
              <a class="mono" href="/schedules">{task.schedule.name}</a>
              <span class="muted">{` tick ${formatTime(task.schedule.tick)}`}</span>
            </dd>
          </div>
        )}
        {task.retryOf && (
          <div>
            <dt>Retry of</dt>
            <dd>
              <a class="mono break" href={`/tasks/${task.retryOf}`}>{task.retryOf}</a>
            </dd>
          </div>
        )}
        {task.idempotencyKey && <Fact term="Idempotency key" mono>{task.idempotencyKey}</Fact>}
      </dl>
      <section aria-labelledby="attempts-h">
        <h2 id="attempts-h">Attempts</h2>
        <AttemptTimeline task={task} />
      </section>
      {(parents.length > 0 || (task.dependsOn?.length ?? 0) > 0) && (
        <section aria-labelledby="parents-h">
          <h2 id="parents-h">Depends on</h2>
          <p class="muted">
            {`Runs once all ${
              task.onParentFailure === "run"
                ? "have ended, whatever the outcome"
                : "succeed; cancelled if one fails or is cancelled"
            }.`}
          </p>
          <TaskRelatives label="Depends on" tasks={parents} empty="None is stored now." />
        </section>
      )}
      <section aria-labelledby="children-h">
        <h2 id="children-h">Dependents</h2>
        <TaskRelatives
          label="Dependents"
          tasks={dependents}
          empty="No task depends on this one."
        />
        {dependents.length >= props.childLimit && (
          <p class="muted">The newest {props.childLimit} are shown.</p>
        )}
      </section>
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

/** One fact of the task: its term, and its value (in the fixed-width face with `mono`). */
function Fact(props: { term: string; mono?: boolean; children: ComponentChildren }) {
  return (
    <div>
      <dt>{props.term}</dt>
      <dd class={props.mono ? "mono" : undefined}>{props.children}</dd>
    </div>
  );
}
