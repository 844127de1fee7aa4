import { formatProgress } from "./format.ts";

/** Props of {@linkcode ProgressBar}. */
export interface ProgressBarProps {
  /** 0–1, or `null` for "running, no progress reported yet". */
  value: number | null;
  /** Accessible name, e.g. "Progress of task 0192…". */
  label: string;
}

/**
 * A native `<progress>` with its percentage as text beside it.
 *
 * @example
 * ```tsx ignore
 * <ProgressBar value={0.4} label="Progress" />
 * ```
 */
export function ProgressBar({ value, label }: ProgressBarProps) {
  return (
    <span class="progress">
      {value === null
        ? <progress aria-label={label} />
        : <progress aria-label={label} max={1} value={value} />}
      <span class="progress-text">{formatProgress(value)}</span>
    </span>
  );
}
