import { useEffect } from "preact/hooks";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { formatCount } from "../components/format.ts";
import { seed, startLive, workers } from "./_client/live.ts";
import type { WorkerInfo } from "../components/types.ts";

/** Props of {@linkcode WorkerGrid}. */
export interface WorkerGridProps {
  workers: WorkerInfo[];
}

/** Every worker slot: busy or idle, its task and progress, counts, restarts. */
export default function WorkerGrid(props: WorkerGridProps) {
  useEffect(() => {
    seed({ workers: props.workers });
    startLive();
  }, []);
  const list = workers.value ?? props.workers;
  if (list.length === 0) return <p class="muted">No workers.</p>;
  const busy = list.filter((w) => w.state === "busy").length;
  const restarts = list.reduce((sum, w) => sum + w.restarts, 0);
  return (
    <>
      <p class="muted worker-summary">
        {busy} busy of {list.length} · {restarts} restarts
      </p>
      <ul class="workers" aria-label="Workers">
        {list.map((w) => {
          const taskId = w.taskIds[0];
          return (
            <li key={w.id} class={`worker worker-${w.state}`} data-worker={w.id}>
              <div class="worker-head">
                <span class="worker-name">Worker {w.id}</span>
                <span class={`pill pill-${w.state}`}>{w.state}</span>
              </div>
              <div class="worker-task">
                {taskId
                  ? <a href={`/tasks/${taskId}`} class="mono">{taskId.slice(-12)}</a>
                  : <span class="muted">no task</span>}
                {w.taskIds.length > 1 && <span class="muted">+{w.taskIds.length - 1}</span>}
              </div>
              {w.state === "busy"
                ? <ProgressBar value={w.progress} label={`Progress of worker ${w.id}`} />
                : <span class="progress progress-empty" aria-hidden="true" />}
              <dl class="worker-stats">
                <div>
                  <dt>done</dt>
                  <dd>{formatCount(w.completed)}</dd>
                </div>
                <div>
                  <dt>failed</dt>
                  <dd>{formatCount(w.failed)}</dd>
                </div>
                <div>
                  <dt>restarts</dt>
                  <dd>{formatCount(w.restarts)}</dd>
                </div>
              </dl>
            </li>
          );
        })}
      </ul>
    </>
  );
}
