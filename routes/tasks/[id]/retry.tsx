import SubmitPanel from "../../../islands/SubmitPanel.tsx";
import { typeSummaries } from "../../../server/dashboard_state.ts";
import type { DashboardState } from "../../../server/dashboard_state.ts";
import type { Task, TaskTypeSummary } from "../../../components/types.ts";
import type { PageProps, PageResult, RouteContext } from "../../../server/ui/mod.ts";

/** Data of the retry-with-changes page. */
export interface RetryData {
  id: string;
  task: Task | null;
  types: TaskTypeSummary[];
}

/** Loads the task to retry; a 404 page for an unknown id. */
export async function handler(ctx: RouteContext<DashboardState>): Promise<PageResult<RetryData>> {
  const id = ctx.params.id;
  const task = (await ctx.state.engine.get(id)) ?? null;
  const types = typeSummaries(ctx.state.engine.taskTypes());
  if (!task) return { title: "Task not found", status: 404, data: { id, task: null, types } };
  return { title: `Retry ${id.slice(-12)} with changes`, data: { id, task, types } };
}

/**
 * Retry with changes: the submit form filled from a failed or cancelled task
 * (type, payload, priority, timeout, attempts), submitting a new task linked
 * to it by `retryOf`. The old task stays as it is.
 */
export default function RetryPage({ data }: PageProps<RetryData>) {
  const { task } = data;
  const back = <a href={`/tasks/${data.id}`}>← Task {data.id.slice(-12)}</a>;
  if (!task) {
    return (
      <section class="panel">
        <h1>Task not found</h1>
        <p>
          No task has the id <span class="mono">{data.id}</span>. <a href="/tasks">All tasks</a>.
        </p>
      </section>
    );
  }
  const editable = task.status === "failed" || task.status === "cancelled";
  const bytes = task.payload instanceof Uint8Array;
  return (
    <>
      <div class="page-head">
        <h1>Retry with changes</h1>
        <p class="muted">{back}</p>
      </div>
      <section class="panel" aria-labelledby="retry-h">
        <h2 id="retry-h">
          A new task retrying <span class="mono break">{task.id}</span>
        </h2>
        {!editable
          ? <p>This task is {task.status}: only a failed or cancelled task is retried.</p>
          : bytes
          ? <p>A byte payload cannot be edited here: use Retry task on its page.</p>
          : (
            <>
              <p class="muted">
                Edit what should change and submit: the new task records this one as its{" "}
                <code>retryOf</code>, and this one stays {task.status}.
              </p>
              <SubmitPanel
                types={data.types}
                retry={{
                  of: task.id,
                  form: {
                    type: task.type,
                    priority: String(task.priority),
                    payload: task.payload === undefined
                      ? ""
                      : JSON.stringify(task.payload, null, 2),
                    timeoutMs: String(task.timeoutMs),
                    maxAttempts: String(task.maxAttempts),
                  },
                }}
              />
            </>
          )}
      </section>
    </>
  );
}
