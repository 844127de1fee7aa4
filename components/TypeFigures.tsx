import { StatusBadge } from "./StatusBadge.tsx";
import { firstLine, formatCount, formatDuration, formatTime } from "./format.ts";
import { TASK_STATUSES } from "../engine/model/task.ts";
import type { TaskTypeView } from "./types.ts";

/** Props of {@linkcode TypeFigures}. */
export interface TypeFiguresProps {
  type: TaskTypeView;
}

/**
 * A task type's figures as the page was rendered: its tasks by status (each
 * a link to the table filtered on it), last hour's run time and failure rate,
 * the last error, isolation and permissions.
 *
 * @example
 * ```tsx ignore
 * <TypeFigures type={view} />
 * ```
 */
export function TypeFigures({ type }: TypeFiguresProps) {
  const rate = type.lastHour.failureRate;
  const ended = type.lastHour.succeeded + type.lastHour.failed;
  return (
    <>
      <ul class="type-counts" aria-label={`Tasks of ${type.name} by status`}>
        {TASK_STATUSES.map((status) => (
          <li key={status}>
            <a href={`/tasks?type=${encodeURIComponent(type.name)}&status=${status}`}>
              <StatusBadge status={status} />{" "}
              <span class="num" data-count={status}>{formatCount(type.counts[status] ?? 0)}</span>
            </a>
          </li>
        ))}
      </ul>
      <dl class="facts type-facts">
        <div>
          <dt>Run time, last hour</dt>
          <dd data-fact="runtime">
            {type.runMs.count === 0
              ? "–"
              : `p50 ${formatDuration(type.runMs.p50)} · p95 ${formatDuration(type.runMs.p95)}`}
          </dd>
        </div>
        <div>
          <dt>Failure rate, last hour</dt>
          <dd data-fact="failures">
            {rate === null
              ? "no attempts"
              : `${(rate * 100).toFixed(rate > 0 && rate < 0.01 ? 2 : 0)} % (${
                formatCount(type.lastHour.failed)
              } of ${formatCount(ended)} attempts)`}
          </dd>
        </div>
        <div>
          <dt>Isolation</dt>
          <dd data-fact="isolation">Web Worker; {describePermissions(type.permissions)}</dd>
        </div>
        <div class="type-error">
          <dt>Last error</dt>
          <dd data-fact="last-error">
            {type.lastError === null ? "none" : (
              <>
                <a href={`/tasks/${type.lastError.taskId}`}>
                  <strong>{type.lastError.name}</strong>: {firstLine(type.lastError.message)}
                </a>{" "}
                <span class="muted mono">{formatTime(type.lastError.at)} UTC</span>
              </>
            )}
          </dd>
        </div>
      </dl>
    </>
  );
}

/**
 * Permissions in a few words: "no permissions" or "permissions net: example.com:443; read: all".
 *
 * @example
 * ```ts ignore
 * describePermissions({ net: ["example.com:443"], read: false }); // "permissions net: example.com:443"
 * ```
 */
export function describePermissions(permissions: Record<string, boolean | string[]>): string {
  const granted = Object.entries(permissions).flatMap(([kind, value]) =>
    value === false || (Array.isArray(value) && value.length === 0)
      ? []
      : [`${kind}: ${value === true ? "all" : value.join(", ")}`]
  );
  return granted.length === 0 ? "no permissions" : `permissions ${granted.join("; ")}`;
}
