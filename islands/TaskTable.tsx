import { useEffect, useState } from "preact/hooks";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { formatTime } from "../components/format.ts";
import { api } from "./_client/api.ts";
import { CANCELLABLE, cancelTask, RETRYABLE, retryTask } from "./_client/actions.ts";
import { resyncCount } from "./_client/live.ts";
import { useTaskEvents } from "./_client/use_task_events.ts";
import { useHydrated } from "./_client/hydrated.ts";
import { applyTaskEvents, matchesFilter, taskQuery } from "./_client/task_list.ts";
import type { Task, TaskFilter } from "../components/types.ts";

/** Props of {@linkcode TaskTable}. */
export interface TaskTableProps {
  tasks: Task[];
  filter: TaskFilter;
  /** Cursor of the page shown (`null` for the first page, which takes new tasks live). */
  cursor: string | null;
  limit: number;
}

/** Bulk cancel works through the filtered set in pages of this size. */
const BULK_PAGE = 500;

/** The task table: live rows, row actions, and bulk cancel of the filtered set. */
export default function TaskTable(props: TaskTableProps) {
  const [rows, setRows] = useState(props.tasks);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
  const [bulkBusy, setBulkBusy] = useState(false);
  const hydrated = useHydrated();

  useTaskEvents((events) => {
    setRows((current) =>
      applyTaskEvents(current, events, {
        accepts: (task) => matchesFilter(task, props.filter),
        prepend: props.cursor === null,
        limit: props.limit,
      })
    );
  });
  useEffect(() => {
    if (resyncCount.value === 0) return;
    api<{ tasks: Task[] }>(`/api/tasks?${taskQuery(props.filter, props.limit, props.cursor)}`)
      .then((page) => setRows(page.tasks))
      .catch(() => undefined);
  }, [resyncCount.value]);

  async function act(task: Task, action: "cancel" | "retry") {
    try {
      const updated = action === "cancel" ? await cancelTask(task.id) : await retryTask(task.id);
      setRows((current) => current.map((t) => (t.id === updated.id ? updated : t)));
      setNotice({ text: `Task ${task.id.slice(-12)}: ${action} accepted.`, error: false });
    } catch (error) {
      setNotice({ text: (error as Error).message, error: true });
    }
  }

  async function bulkCancel() {
    const what = describeFilter(props.filter);
    if (!confirm(`Cancel every unfinished task matching ${what}?`)) return;
    setBulkBusy(true);
    let cancelled = 0;
    let failed = 0;
    try {
      const statuses = props.filter.status
        ? [props.filter.status].filter((s) => CANCELLABLE.has(s))
        : [...CANCELLABLE];
      for (const status of statuses) {
        let cursor: string | null = null;
        do {
          const query = taskQuery({ ...props.filter, status }, BULK_PAGE, cursor);
          const page: { tasks: Task[]; nextCursor: string | null } = await api(
            `/api/tasks?${query}`,
          );
          const results = await Promise.allSettled(page.tasks.map((t) => cancelTask(t.id)));
          for (const r of results) r.status === "fulfilled" ? cancelled++ : failed++;
          cursor = page.nextCursor;
          setNotice({ text: `Cancelling… ${cancelled} cancelled so far.`, error: false });
        } while (cursor);
      }
      setNotice({
        text: `Cancelled ${cancelled} tasks` +
          (failed ? `; ${failed} had already finished.` : "."),
        error: false,
      });
    } catch (error) {
      setNotice({ text: (error as Error).message, error: true });
    } finally {
      setBulkBusy(false);
    }
  }

  return (
    <div class="task-table">
      <div class="table-tools">
        {(!props.filter.status || CANCELLABLE.has(props.filter.status)) && (
          <button
            type="button"
            class="danger"
            onClick={bulkCancel}
            disabled={!hydrated || bulkBusy}
          >
            {bulkBusy ? "Cancelling…" : "Cancel all matching"}
          </button>
        )}
        <p role="status" class={notice?.error ? "field-error" : "muted"}>{notice?.text}</p>
      </div>
      {rows.length === 0
        ? <p class="muted" data-empty>No tasks match.</p>
        : (
          <div class="table-scroll">
            <table class="tasks">
              <caption class="sr-only">Tasks matching {describeFilter(props.filter)}</caption>
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">Type</th>
                  <th scope="col" class="num hide-narrow">Priority</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col" class="hide-narrow">Created (UTC)</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((task) => (
                  <tr key={task.id} data-task={task.id} data-status={task.status}>
                    <td>
                      <a class="mono" href={`/tasks/${task.id}`}>{task.id.slice(-12)}</a>
                    </td>
                    <td>{task.type}</td>
                    <td class="num hide-narrow">{task.priority}</td>
                    <td>
                      <StatusBadge status={task.status} />
                    </td>
                    <td>
                      {task.status === "running"
                        ? (
                          <ProgressBar
                            value={task.progress}
                            label={`Progress of task ${task.id}`}
                          />
                        )
                        : <span class="muted">–</span>}
                    </td>
                    <td class="hide-narrow mono">{formatTime(task.createdAt)}</td>
                    <td class="actions">
                      {CANCELLABLE.has(task.status) && (
                        <button
                          type="button"
                          class="small"
                          onClick={() => act(task, "cancel")}
                          aria-label={`Cancel task ${task.id}`}
                        >
                          Cancel
                        </button>
                      )}
                      {RETRYABLE.has(task.status) && (
                        <button
                          type="button"
                          class="small"
                          onClick={() => act(task, "retry")}
                          aria-label={`Retry task ${task.id}`}
                        >
                          Retry
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </div>
  );
}

function describeFilter(filter: TaskFilter): string {
  const parts = [
    filter.status && `status ${filter.status}`,
    filter.type && `type ${filter.type}`,
    filter.priority && `priority ${filter.priority}`,
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "no filter (all tasks)";
}
