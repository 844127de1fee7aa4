/**
 * Private to the SQLite store: the type controls (pause, limits) in SQL.
 * Each function runs inside the store's group-commit transaction.
 *
 * @module
 */

import {
  changedControl,
  type StoredTypeControl,
  type TypeControlChange,
  type TypeLimits,
} from "../../model/type_controls.ts";
import type { Prepare } from "./_rows.ts";

/** Every saved type control, by type. */
export function listTypeControls(prepare: Prepare): StoredTypeControl[] {
  return prepare("SELECT * FROM type_controls ORDER BY type").all().map(rowToControl);
}

/** Applies `change` to the type's saved control (or to none) and saves the result. */
export function saveTypeControl(
  prepare: Prepare,
  type: string,
  change: TypeControlChange,
): StoredTypeControl {
  const row = prepare("SELECT * FROM type_controls WHERE type = ?").get(type);
  const control = changedControl(type, row ? rowToControl(row) : undefined, change);
  prepare(
    `INSERT INTO type_controls (type, paused, limits, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (type) DO UPDATE SET paused = excluded.paused, limits = excluded.limits,
      updated_at = excluded.updated_at`,
  ).run(
    type,
    control.paused ? 1 : 0,
    control.limits === null ? null : JSON.stringify(control.limits),
    Date.now(),
  );
  return control;
}

function rowToControl(row: Record<string, unknown>): StoredTypeControl {
  return {
    type: row.type as string,
    paused: row.paused === 1,
    limits: row.limits === null ? null : JSON.parse(row.limits as string) as TypeLimits,
  };
}
