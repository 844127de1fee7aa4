import { useEffect, useState } from "preact/hooks";
import { type TaskColumnKey, TaskList } from "../components/TaskList.tsx";
import { formatCount } from "../components/format.ts";
import { api } from "./_client/api.ts";
import { CANCELLABLE, cancelTask, RETRYABLE, retryTask } from "./_client/actions.ts";
import { collectMatching, describeFilter, runInBatches } from "./_client/bulk.ts";
import { NOT_LIVE, useCanAct } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import { clock, onStats, resyncCount, serverNode } from "./_client/live.ts";
import { useTaskEvents } from "./_client/use_task_events.ts";
import { applyTaskEvents, matchesFilter, taskQuery } from "./_client/task_list.ts";
import type { Task, TaskFilter } from "../components/types.ts";

/** Props of {@linkcode TaskTable}. */
export interface TaskTableProps {
  tasks: Task[];
  filter: TaskFilter;
  /** Cursor of the page shown (`null` for the first page, which takes new tasks live). */
  cursor: string | null;
  limit: number;
  /** The node the page shows. */
  nodeId: string;
  /** How many tasks match the filter in all, when the server counted them. */
  total: number | null;
}

/** Stats messages (about one a second) between two recounts of the matching tasks. */
const RECOUNT_TICKS = 5;

/** The table's columns, in order. */
const COLUMNS: TaskColumnKey[] = [
  "id",
  "type",
  "priority",
  "status",
  "progress",
  "runTime",
  "attempts",
  "worker",
  "error",
  "created",
];

/** What a bulk action does, in the words of its button, confirm and status line. */
const BULK = {
  cancel: {
    statuses: CANCELLABLE,
    button: "Cancel all matching",
    verb: "Cancel",
    doing: "Cancelling",
    done: "Cancelled",
    past: "cancelled",
    skipped: "had already finished",
    run: cancelTask,
  },
  retry: {
    statuses: RETRYABLE,
    button: "Retry all matching",
    verb: "Retry",
    doing: "Retrying",
    done: "Queued again",
    past: "retried",
    skipped: "could not be retried",
    run: retryTask,
  },
} as const;

/**
 * The task table: live rows (run time, attempts, worker, first line of the
 * error), row actions, and bulk cancel or retry of everything matching the
 * filter. One status line says what the last action did.
 */
export default function TaskTable(props: TaskTableProps) {
  const [rows, setRows] = useState(props.tasks);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState<"cancel" | "retry" | null>(null);
  const [total, setTotal] = useState(props.total);
  const hydrated = useHydrated();
  const canAct = useCanAct();

  useTaskEvents((events) => {
    setRows((current) =>
      applyTaskEvents(current, events, {
        accepts: (task) => matchesFilter(task, props.filter),
        // New tasks join the first page in creation order only: other orders wait for a reload.
        prepend: props.cursor === null && !props.filter.sort,
        limit: props.limit,
      })
    );
  });
  useEffect(() => {
    if (resyncCount.value === 0) return;
    api<{ tasks: Task[]; total?: number }>(
      `/api/tasks?${taskQuery(props.filter, props.limit, props.cursor)}&total=true`,
    )
      .then((page) => {
        setRows(page.tasks);
        if (page.total !== undefined) setTotal(page.total);
      })
      .catch(() => undefined);
  }, [resyncCount.value]);
  useEffect(() => {
    let ticks = 0;
    return onStats(() => {
      if (++ticks % RECOUNT_TICKS !== 0) return;
      api<{ total?: number }>(`/api/tasks?${taskQuery(props.filter, 1)}&total=true`)
        .then((page) => page.total !== undefined && setTotal(page.total))
        .catch(() => undefined);
    });
  }, []);

  async function act(task: Task, action: "cancel" | "retry") {
    try {
      const updated = action === "cancel" ? await cancelTask(task.id) : await retryTask(task.id);
      // Events may have brought a newer state already (a quick task ends before the answer).
      setRows((current) => current.map((t) => (t === task ? updated : t)));
      setNotice({ text: `Task ${task.id.slice(-12)}: ${action} accepted.`, error: false });
    } catch (error) {
      setNotice({ text: (error as Error).message, error: true });
    }
  }

  async function bulk(kind: "cancel" | "retry") {
    const how = BULK[kind];
    const what = describeFilter(props.filter);
    setBusy(kind);
    try {
      setNotice({ text: `Counting the tasks matching ${what}…`, error: false });
      const ids = await collectMatching(
        props.filter,
        how.statuses,
        (n) => setNotice({ text: `Counting… ${formatCount(n)} so far.`, error: false }),
      );
      if (ids.length === 0) {
        setNotice({ text: `No task matching ${what} can be ${how.past}.`, error: false });
        return;
      }
      const noun = ids.length === 1 ? "task" : "tasks";
      if (!confirm(`${how.verb} ${formatCount(ids.length)} ${noun} matching ${what}?`)) {
        setNotice({
          text: `${how.verb} of ${formatCount(ids.length)} ${noun}: not done.`,
          error: false,
        });
        return;
      }
      const { done, failed } = await runInBatches(ids, how.run, (d, f) =>
        setNotice({
          text: `${how.doing}… ${formatCount(d + f)} of ${formatCount(ids.length)}.`,
          error: false,
        }));
      setNotice({
        text: `${how.done} ${formatCount(done)} ${done === 1 ? "task" : "tasks"}` +
          (failed ? `; ${formatCount(failed)} ${how.skipped}.` : "."),
        error: false,
      });
    } catch (error) {
      setNotice({ text: (error as Error).message, error: true });
    } finally {
      setBusy(null);
    }
  }

  const offered = (kind: "cancel" | "retry") =>
    !props.filter.status || BULK[kind].statuses.has(props.filter.status);
  const statusText = notice?.text ?? (hydrated && !canAct ? NOT_LIVE : "");
  return (
    <div class="task-table">
      <div class="table-tools">
        {total !== null && (
          <p class="table-total" data-total={total}>
            <strong>{formatCount(total)}</strong> {total === 1 ? "task matches" : "tasks match"}
          </p>
        )}
        {(["cancel", "retry"] as const).filter(offered).map((kind) => (
          <button
            key={kind}
            type="button"
            class={kind === "cancel" ? "danger" : undefined}
            onClick={() => bulk(kind)}
            disabled={!canAct || busy !== null}
          >
            {busy === kind ? `${BULK[kind].doing}…` : BULK[kind].button}
          </button>
        ))}
        <p role="status" class={notice?.error ? "field-error" : "muted"}>{statusText}</p>
      </div>
      {rows.length === 0 ? <p class="muted" data-empty>No tasks match.</p> : (
        <TaskList
          caption={`Tasks matching ${describeFilter(props.filter)}`}
          tasks={rows}
          columns={COLUMNS}
          nodeId={serverNode.value ?? props.nodeId}
          wide
          now={hydrated && rows.some((t) => t.status === "running") ? clock.value : null}
          actions={(task) => (
            <>
              {CANCELLABLE.has(task.status) && (
                <button
                  type="button"
                  class="small"
                  disabled={!canAct}
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
                  disabled={!canAct}
                  onClick={() => act(task, "retry")}
                  aria-label={`Retry task ${task.id}`}
                >
                  Retry
                </button>
              )}
            </>
          )}
        />
      )}
    </div>
  );
}
