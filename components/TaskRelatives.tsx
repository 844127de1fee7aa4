import { StatusBadge } from "./StatusBadge.tsx";
import type { Task } from "./types.ts";

/** Props of {@linkcode TaskRelatives}. */
export interface TaskRelativesProps {
  /** Accessible name of the list, e.g. "Depends on". */
  label: string;
  tasks: Task[];
  /** What to say when there are none. */
  empty: string;
}

/**
 * Tasks related to the one shown (the tasks it depends on, or those that
 * depend on it), each a link with its type and status.
 *
 * @example
 * ```tsx ignore
 * <TaskRelatives label="Depends on" tasks={parents} empty="No parents." />
 * ```
 */
export function TaskRelatives({ label, tasks, empty }: TaskRelativesProps) {
  if (tasks.length === 0) return <p class="muted">{empty}</p>;
  return (
    <ul class="relatives" aria-label={label}>
      {tasks.map((task) => (
        <li key={task.id} data-task={task.id}>
          <a class="mono break" href={`/tasks/${task.id}`}>{task.id}</a>
          <span>{task.type}</span>
          <StatusBadge status={task.status} />
        </li>
      ))}
    </ul>
  );
}
