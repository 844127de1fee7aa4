import { useEffect, useState } from "preact/hooks";
import { TaskList } from "../components/TaskList.tsx";
import { api } from "./_client/api.ts";
import { useHydrated } from "./_client/hydrated.ts";
import { clock, resyncCount, serverNode } from "./_client/live.ts";
import { useTaskEvents } from "./_client/use_task_events.ts";
import { applyTaskEvents } from "./_client/task_list.ts";
import type { Task } from "../components/types.ts";

/** Props of {@linkcode RecentTasks}. */
export interface RecentTasksProps {
  tasks: Task[];
  limit: number;
  /** The node the page shows. */
  nodeId: string;
}

/** The newest tasks, with status, progress and run time kept live. */
export default function RecentTasks(props: RecentTasksProps) {
  const [rows, setRows] = useState(props.tasks);
  const hydrated = useHydrated();
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
    <TaskList
      caption="Newest tasks"
      tasks={rows}
      columns={["id", "type", "status", "progress", "runTime"]}
      now={hydrated && rows.some((t) => t.status === "running") ? clock.value : null}
      nodeId={serverNode.value ?? props.nodeId}
    />
  );
}
