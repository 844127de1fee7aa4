import TaskTable from "../../islands/TaskTable.tsx";
import { idPrefixRange, TASK_SORTS, TASK_STATUSES, type TaskSort } from "../../engine/mod.ts";
import { typeSummaries } from "../../server/dashboard_state.ts";
import type { DashboardState } from "../../server/dashboard_state.ts";
import type { Task, TaskFilter, TaskStatus, TaskTypeSummary } from "../../components/types.ts";
import type { PageProps, PageResult, RouteConfig, RouteContext } from "../../server/ui/mod.ts";

/** An API client of the original ThreadFlow asking `GET /tasks` gets its JSON, not this page. */
export const config: RouteConfig = { htmlOnly: true };

/** Rows per page. */
const PAGE_SIZE = 50;

/** The orders the table offers, as the sort field lists them. */
const SORTS: [string, string][] = [
  ["created", "Newest first"],
  ["priority", "Priority, highest first"],
  ["runTime", "Run time, longest first"],
];

/** Data of the task list page. */
export interface TasksData {
  tasks: Task[];
  filter: TaskFilter;
  cursor: string | null;
  nextCursor: string | null;
  /** How many tasks match the filter in all. */
  total: number | null;
  types: TaskTypeSummary[];
  /** The node this page was rendered by. */
  nodeId: string;
  /** A filter value that was not valid, explained. */
  problem: string | null;
}

/**
 * Reads the filter from the query string; invalid values are dropped and explained.
 *
 * @example
 * ```ts ignore
 * readFilter(new URL("http://x/tasks?status=failed")); // { filter: { status: "failed" }, problem: null }
 * ```
 */
export function readFilter(url: URL): { filter: TaskFilter; problem: string | null } {
  const filter: TaskFilter = {};
  const problems: string[] = [];
  const status = url.searchParams.get("status") ?? "";
  if (status) {
    if ((TASK_STATUSES as readonly string[]).includes(status)) filter.status = status;
    else problems.push(`Status must be one of ${TASK_STATUSES.join(", ")}: received "${status}".`);
  }
  const type = url.searchParams.get("type") ?? "";
  if (type) {
    if (type.length <= 200) filter.type = type;
    else problems.push("Type must be at most 200 characters.");
  }
  const priority = url.searchParams.get("priority") ?? "";
  if (priority) {
    if (/^([1-9]|10)$/.test(priority)) filter.priority = priority;
    else problems.push(`Priority must be an integer from 1 to 10: received "${priority}".`);
  }
  const id = (url.searchParams.get("id") ?? "").trim().toLowerCase();
  if (id) {
    if (idPrefixRange(id) !== undefined) filter.id = id;
    else {
      problems.push(
        `Search by id takes an id or its start (hex digits, dashes where an id has them): received "${
          id.slice(0, 40)
        }".`,
      );
    }
  }
  const sort = url.searchParams.get("sort") ?? "";
  if (sort && sort !== "created") {
    if ((TASK_SORTS as readonly string[]).includes(sort)) filter.sort = sort;
    else problems.push(`Sort must be one of ${TASK_SORTS.join(", ")}: received "${sort}".`);
  }
  return { filter, problem: problems.length ? problems.join(" ") : null };
}

/** Loads one page of tasks for the filter in the query string. */
export async function handler(ctx: RouteContext<DashboardState>): Promise<PageResult<TasksData>> {
  const { filter, problem } = readFilter(ctx.url);
  const cursor = ctx.url.searchParams.get("cursor") || null;
  const types = typeSummaries(ctx.state.engine.taskTypes());
  const query = {
    status: filter.status ? [filter.status as TaskStatus] : undefined,
    type: filter.type ? [filter.type] : undefined,
    priority: filter.priority ? [Number(filter.priority)] : undefined,
    idPrefix: filter.id,
    sort: filter.sort as TaskSort | undefined,
    withTotal: true,
    limit: PAGE_SIZE,
    cursor: cursor ?? undefined,
  };
  try {
    const page = await ctx.state.engine.list(query);
    return {
      title: "Tasks",
      data: {
        tasks: page.tasks,
        filter,
        cursor,
        nextCursor: page.nextCursor,
        total: page.total ?? null,
        types,
        problem,
        nodeId: ctx.state.engine.nodeId,
      },
    };
  } catch (error) {
    // A malformed cursor: show the first page and say why.
    const page = await ctx.state.engine.list({ ...query, cursor: undefined });
    return {
      title: "Tasks",
      status: 400,
      data: {
        tasks: page.tasks,
        filter,
        cursor: null,
        nextCursor: page.nextCursor,
        total: page.total ?? null,
        types,
        problem: (error as Error).message,
        nodeId: ctx.state.engine.nodeId,
      },
    };
  }
}

/** The task list: filter form (works without JavaScript), live table, cursor paging. */
export default function Tasks({ data, url }: PageProps<TasksData>) {
  const { filter } = data;
  const next = new URL(url);
  if (data.nextCursor) next.searchParams.set("cursor", data.nextCursor);
  const first = new URL(url);
  first.searchParams.delete("cursor");
  return (
    <>
      <div class="page-head">
        <h1>Tasks</h1>
      </div>
      <section class="panel" aria-label="Filter">
        <form class="filters" method="get" action="/tasks">
          <div class="field">
            <label for="f-status">Status</label>
            <select id="f-status" name="status">
              <option value="">any</option>
              {TASK_STATUSES.map((s) => (
                <option key={s} value={s} selected={filter.status === s}>{s}</option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-type">Type</label>
            <select id="f-type" name="type">
              <option value="">any</option>
              {data.types.map((t) => (
                <option key={t.name} value={t.name} selected={filter.type === t.name}>
                  {t.name}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-priority">Priority</label>
            <select id="f-priority" name="priority">
              <option value="">any</option>
              {[10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((p) => (
                <option key={p} value={String(p)} selected={filter.priority === String(p)}>
                  {p}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-id">Id or its start</label>
            <input
              id="f-id"
              name="id"
              type="search"
              class="mono"
              value={filter.id ?? ""}
              placeholder="0192c0de-…"
              autocomplete="off"
              spellcheck={false}
              maxLength={36}
            />
          </div>
          <div class="field">
            <label for="f-sort">Sort by</label>
            <select id="f-sort" name="sort">
              {SORTS.map(([value, label]) => (
                <option key={value} value={value} selected={(filter.sort ?? "created") === value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <div class="field field-button">
            <button type="submit">Filter</button>
            <a href="/tasks" class="link-button">Clear</a>
          </div>
        </form>
        {data.problem && <p class="field-error" role="alert">{data.problem}</p>}
      </section>
      <section class="panel" aria-label="Tasks">
        <TaskTable
          tasks={data.tasks}
          filter={filter}
          cursor={data.cursor}
          limit={PAGE_SIZE}
          nodeId={data.nodeId}
          total={data.total}
        />
        <nav class="pager" aria-label="Pages">
          {data.cursor && <a href={first.pathname + first.search}>← First page</a>}
          {data.nextCursor && <a href={next.pathname + next.search}>Next page →</a>}
        </nav>
      </section>
    </>
  );
}
