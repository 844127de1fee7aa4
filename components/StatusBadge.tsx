import type { TaskStatus } from "./types.ts";

/** A glyph per status, so the status never rests on colour alone. */
const GLYPHS: Record<TaskStatus, string> = {
  blocked: "◇",
  scheduled: "◷",
  queued: "○",
  running: "◐",
  succeeded: "✓",
  failed: "✕",
  cancelled: "⊘",
};

/** Props of {@linkcode StatusBadge}. */
export interface StatusBadgeProps {
  status: TaskStatus;
}

/**
 * A task status as a labelled badge (glyph, word and colour).
 *
 * @example
 * ```tsx ignore
 * <StatusBadge status="running" />
 * ```
 */
export function StatusBadge({ status }: StatusBadgeProps) {
  return (
    <span class={`status status-${status}`} data-status={status}>
      <span aria-hidden="true">{GLYPHS[status] ?? "•"}</span> {status}
    </span>
  );
}
