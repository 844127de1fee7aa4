import { formatAge } from "./format.ts";

/** Props of {@linkcode StaleNote}. */
export interface StaleNoteProps {
  /** How old the figures are, ms; `null` when they are live (nothing is shown). */
  ageMs: number | null;
}

/**
 * Marks figures that stopped updating (the page lost its connection) with their age.
 *
 * @example
 * ```tsx ignore
 * <StaleNote ageMs={stale ? now - statsAt : null} />
 * ```
 */
export function StaleNote({ ageMs }: StaleNoteProps) {
  if (ageMs === null) return null;
  return (
    <span class="stale-note" data-stale>
      <span aria-hidden="true">⚠</span> Not live: as of {formatAge(ageMs)} ago
    </span>
  );
}
