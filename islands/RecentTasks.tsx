import { useEffect, useState } from "preact/hooks";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { formatDuration } from "../components/format.ts";
import { api } from "./_client/api.ts";
import { resyncCount } from "./_client/live.ts";
import { useTaskEvents } from "./_client/use_task_events.ts";
import { applyTaskEvents } from "./_client/task_list.ts";
import type { Task } from "../components/types.ts";

/** Props of {@linkcode RecentTasks}. */
export interface RecentTasksProps {
  tasks: Task[];
  limit: number;
}

/** The newest tasks, with status and progress kept live. */
export default function RecentTasks(props: RecentTasksProps) {
  const [rows, setRows] = useState(props.tasks);
  useTaskEvents((events) => {
    setRows((current) =>
      applyTaskEvents(current, events, { accepts: () => true, prepend: true, limit: props.limit })
    );
  });
  useEffect(() => {
    if (resyncCount.value === 0) return;
    api<{ tasks: Task[] }>(`/api/tasks?limit=${props.limit}`)
      .then((page) => setRows(page.tasks))
      .catch(() => undefined);
  }, [resyncCount.value]);

  if (rows.length === 0) return <p class="muted" data-empty>No tasks yet. Submit one.</p>;
  return (
    <div class="table-scroll">
      <table class="tasks">
        <caption class="sr-only">Newest tasks</caption>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col" class="hide-narrow">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col" class="hide-narrow">Run time</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((task) => (
            <tr key={task.id} data-task={task.id} data-status={task.status}>
              <td>
                <a class="mono" href={`/tasks/${task.id}`}>{task.id.slice(-12)}</a>
              </td>
              <td class="hide-narrow">{task.type}</td>
              <td>
                <StatusBadge status={task.status} />
              </td>
              <td>
                {task.status === "running"
                  ? <ProgressBar value={task.progress} label={`Progress of task ${task.id}`} />
                  : task.status === "succeeded"
                  ? <ProgressBar value={1} label={`Progress of task ${task.id}`} />
                  : <span class="muted">–</span>}
              </td>
              <td class="num hide-narrow">
                {task.startedAt && task.finishedAt
                  ? formatDuration(task.finishedAt - task.startedAt)
                  : "–"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
