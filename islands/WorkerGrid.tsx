import { useEffect, useRef } from "preact/hooks";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { StaleNote } from "../components/StaleNote.tsx";
import { formatAge, formatBytes, formatCount } from "../components/format.ts";
import { useStaleAge } from "./_client/freshness.ts";
import { workerLoad } from "./_client/history_feed.ts";
import { useHydrated } from "./_client/hydrated.ts";
import { useThrottled } from "./_client/throttle.ts";
import { clock, onTaskEvents, refreshWorkers, seed, startLive, workers } from "./_client/live.ts";
import { LIST_INTERVAL_MS } from "./_client/use_task_events.ts";
import type { WorkerInfo } from "../components/types.ts";

/** What a worker card says about the task a worker runs. */
export interface CurrentTask {
  type: string;
  startedAt: number | null;
}

/** Props of {@linkcode WorkerGrid}. */
export interface WorkerGridProps {
  workers: WorkerInfo[];
  /** Share of the last minute each slot was busy, 0–1, by slot id. */
  load: Record<string, number>;
  /** Type and start of the tasks the busy workers hold, by task id. */
  current: Record<string, CurrentTask>;
}

/** How often the cards' CPU and memory figures are read again. */
const FIGURES_INTERVAL_MS = 5_000;

/**
 * Every worker slot as a card that fits any count: busy or idle, thread or
 * process, the task it runs (type, for how long, progress), its CPU and
 * memory, its load over the last minute, and its done, failed and restart
 * counts.
 */
export default function WorkerGrid(props: WorkerGridProps) {
  // Kept aside, not in state: the cards redraw at the pace of the slots, not of every event.
  const current = useRef(props.current);
  const hydrated = useHydrated();
  useEffect(() => {
    seed({ workers: props.workers });
    startLive();
    const figures = setInterval(refreshWorkers, FIGURES_INTERVAL_MS);
    const stop = onTaskEvents((events) => {
      // Keep only the tasks some worker holds now (the slots are updated before this runs).
      const held = new Set(workers.peek()?.flatMap((w) => w.taskIds) ?? []);
      const next: Record<string, CurrentTask> = {};
      for (const [id, task] of Object.entries(current.current)) if (held.has(id)) next[id] = task;
      for (const { type, task } of events) {
        if ((type === "task.started" || type === "task.progress") && held.has(task.id)) {
          next[task.id] = { type: task.type, startedAt: task.startedAt };
        }
      }
      current.current = next;
    });
    return () => {
      clearInterval(figures);
      stop();
    };
  }, []);
  const list = useThrottled(workers, LIST_INTERVAL_MS) ?? props.workers;
  const load = workerLoad.value ?? props.load;
  const age = useStaleAge();
  const now = clock.value;
  if (list.length === 0) return <p class="muted">No workers.</p>;
  const busy = list.filter((w) => w.state === "busy").length;
  const restarts = list.reduce((sum, w) => sum + w.restarts, 0);
  const meanLoad = list.reduce((sum, w) => sum + (load[w.id] ?? 0), 0) / list.length;
  return (
    <>
      <p class="muted worker-summary">
        {formatCount(busy)} busy of {formatCount(list.length)} · load {percent(meanLoad)}{" "}
        over the last minute · {formatCount(restarts)} restarts <StaleNote ageMs={age} />
      </p>
      <div
        class={age === null ? "worker-scroll" : "worker-scroll is-stale"}
        tabindex={0}
        role="region"
        aria-label="Worker slots"
      >
        <ul class="workers">
          {list.map((w) => {
            const taskId = w.taskIds[0];
            const task = taskId ? current.current[taskId] : undefined;
            const share = load[w.id] ?? 0;
            return (
              <li key={w.id} class={`worker worker-${w.state}`} data-worker={w.id}>
                <div class="worker-head">
                  <span class="worker-name">Worker {w.id}</span>
                  <span class={`pill pill-${w.state}`}>{w.state}</span>
                </div>
                <div class="worker-figures muted">
                  <span title={isolationTitle(w)}>{w.isolation ?? "thread"}</span>
                  {typeof w.cpuPercent === "number" && <span>CPU {w.cpuPercent}%</span>}
                  {typeof w.memoryBytes === "number" && <span>{formatBytes(w.memoryBytes)}</span>}
                </div>
                <div class="worker-task">
                  {taskId
                    ? (
                      <>
                        <a href={`/tasks/${taskId}`} class="mono">{taskId.slice(-12)}</a>
                        {task && <span>{task.type}</span>}
                        {task?.startedAt && hydrated && (
                          <span class="muted">for {formatAge(now - task.startedAt)}</span>
                        )}
                        {w.taskIds.length > 1 && (
                          <span class="muted">+{w.taskIds.length - 1} more</span>
                        )}
                      </>
                    )
                    : <span class="muted">no task</span>}
                </div>
                {w.state === "busy"
                  ? <ProgressBar value={w.progress} label={`Progress of worker ${w.id}`} />
                  : <span class="progress progress-empty" aria-hidden="true" />}
                <div class="worker-load">
                  <span>load</span>
                  <meter
                    min={0}
                    max={1}
                    value={share}
                    aria-label={`Load of worker ${w.id} over the last minute`}
                  />
                  <span class="num">{percent(share)}</span>
                </div>
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
      </div>
    </>
  );
}

function isolationTitle(worker: WorkerInfo): string {
  return worker.isolation === "process"
    ? `A process of its own (pid ${worker.pid ?? "?"})`
    : "A thread of the service";
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
