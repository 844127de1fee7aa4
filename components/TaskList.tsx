import type { ComponentChildren } from "preact";
import { ProgressBar } from "./ProgressBar.tsx";
import { StatusBadge } from "./StatusBadge.tsx";
import { firstLine, formatDuration, formatTime } from "./format.ts";
import type { Task } from "./types.ts";

/** The columns a task list can show. */
export type TaskColumnKey =
  | "id"
  | "type"
  | "priority"
  | "status"
  | "progress"
  | "runTime"
  | "attempts"
  | "worker"
  | "error"
  | "created";

/** What a cell may need besides its task. */
export interface CellView {
  /** The browser's clock once live (for the run time of running tasks), else `null`. */
  now: number | null;
  /** The node the page shows; workers of other nodes are named with theirs. */
  nodeId: string | null;
}

/** One column: its header and how a task fills its cell. */
export interface TaskColumn {
  header: string;
  /** Numbers align right. */
  numeric?: boolean;
  cell(task: Task, view: CellView): ComponentChildren;
}

/**
 * Every column, by key. A column the store can sort by will say so here (a
 * `sort` key) once the engine lists tasks in other orders.
 */
export const TASK_COLUMNS: Record<TaskColumnKey, TaskColumn> = {
  id: {
    header: "Task",
    cell: (task) => <a class="mono" href={`/tasks/${task.id}`}>{task.id.slice(-12)}</a>,
  },
  type: { header: "Type", cell: (task) => task.type },
  priority: { header: "Priority", numeric: true, cell: (task) => task.priority },
  status: { header: "Status", cell: (task) => <StatusBadge status={task.status} /> },
  progress: {
    header: "Progress",
    cell: (task) =>
      task.status === "running"
        ? <ProgressBar value={task.progress} label={`Progress of task ${task.id}`} />
        : task.status === "succeeded"
        ? <ProgressBar value={1} label={`Progress of task ${task.id}`} />
        : <span class="muted">–</span>,
  },
  runTime: { header: "Run time", numeric: true, cell: (task, view) => runTime(task, view.now) },
  attempts: {
    header: "Attempts",
    numeric: true,
    cell: (task) => `${task.attempts}/${task.maxAttempts}`,
  },
  worker: {
    header: "Worker",
    cell: (task, view) =>
      task.workerId === null
        ? <span class="muted">–</span>
        : task.nodeId && task.nodeId !== view.nodeId
        ? `${task.workerId} on ${task.nodeId}`
        : String(task.workerId),
  },
  error: {
    header: "Error",
    cell: (task) =>
      task.error
        ? <span class="task-error">{firstLine(`${task.error.name}: ${task.error.message}`)}</span>
        : <span class="muted">–</span>,
  },
  created: {
    header: "Created (UTC)",
    cell: (task) => <span class="mono">{formatTime(task.createdAt)}</span>,
  },
};

/**
 * How long a task ran: its last attempt's start to its end, or to `now` while
 * it runs (`–` before the page is live).
 *
 * @example
 * ```ts ignore
 * runTime({ ...task, startedAt: 1000, finishedAt: 3500 }, null); // "2.50 s"
 * ```
 */
export function runTime(task: Task, now: number | null): string {
  if (task.startedAt === null) return "–";
  if (task.status === "running") {
    return now === null ? "–" : formatDuration(Math.max(0, now - task.startedAt));
  }
  if (task.finishedAt === null || task.finishedAt < task.startedAt) return "–";
  return formatDuration(task.finishedAt - task.startedAt);
}

/** Props of {@linkcode TaskList}. */
export interface TaskListProps {
  /** Says what the rows are, for screen readers. */
  caption: string;
  tasks: Task[];
  columns: TaskColumnKey[];
  /** The browser's clock once live, else `null`. */
  now: number | null;
  /** The node the page shows (see {@linkcode CellView}). */
  nodeId?: string | null;
  /** Buttons for a row, in a last column. */
  actions?: (task: Task) => ComponentChildren;
  /** Many columns: rows become cards on screens up to 830 px wide instead of 480 px. */
  wide?: boolean;
}

/**
 * Tasks as a table; on narrow screens each row becomes a card with every
 * cell labelled, so nothing is cut. The ARIA roles keep it a table for
 * screen readers however CSS lays it out.
 *
 * @example
 * ```tsx ignore
 * <TaskList caption="Newest tasks" tasks={rows} columns={["id", "status"]} now={null} />
 * ```
 */
export function TaskList(
  { caption, tasks, columns, now, nodeId = null, actions, wide }: TaskListProps,
) {
  const view = { now, nodeId };
  return (
    // Between the cards' width and the table's own, the full table scrolls sideways in its box.
    <div
      class={wide ? "task-list task-list-wide" : "task-list"}
      tabindex={wide ? 0 : undefined}
      role={wide ? "region" : undefined}
      aria-label={wide ? `${caption}, table` : undefined}
    >
      <table class={wide ? "tasks tasks-wide" : "tasks"} role="table">
        <caption class="sr-only">{caption}</caption>
        <thead role="rowgroup">
          <tr role="row">
            {columns.map((key) => (
              <th
                key={key}
                scope="col"
                role="columnheader"
                class={TASK_COLUMNS[key].numeric ? "num" : undefined}
              >
                {TASK_COLUMNS[key].header}
              </th>
            ))}
            {actions && (
              <th scope="col" role="columnheader">
                <span class="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody role="rowgroup">
          {tasks.map((task) => (
            <tr key={task.id} role="row" data-task={task.id} data-status={task.status}>
              {columns.map((key) => (
                <td
                  key={key}
                  role="cell"
                  class={`col-${key}${TASK_COLUMNS[key].numeric ? " num" : ""}`}
                  data-label={TASK_COLUMNS[key].header}
                >
                  {TASK_COLUMNS[key].cell(task, view)}
                </td>
              ))}
              {actions && <td role="cell" class="actions">{actions(task)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
