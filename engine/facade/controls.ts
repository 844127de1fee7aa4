/**
 * Per-type controls as the engine keeps them: each type's pause and limits
 * (the module's `export const limits`, unless set through the API), saved in
 * the store, put in force in the {@linkcode TypeGate}, announced as
 * `type.paused`, `type.resumed` and `type.limits_changed` events, and on a
 * shared store taken up by every node from those events.
 *
 * @module
 */

import { UnknownTaskTypeError } from "../model/errors.ts";
import type { ThreadFlowEvent, TypeEvent, TypeEventType } from "../model/events.ts";
import {
  changedControl,
  hasLimits,
  type StoredTypeControl,
  type TypeControl,
  type TypeControlChange,
} from "../model/type_controls.ts";
import type { TaskTypeInfo } from "../pool/task_types.ts";
import type { ClaimControls } from "../source/cluster.ts";
import type { TypeGate } from "../source/type_gate.ts";
import type { TaskStore } from "../store/store.ts";

/** What the controls need from the engine. */
export interface ControlParts {
  store: TaskStore;
  types: Map<string, TaskTypeInfo>;
  gate: TypeGate;
  /** Announces an event (numbered by the engine). */
  emit(event: Omit<TypeEvent, "seq">): void;
  /** A type's rules changed: take back its unstarted tasks and hand out work again. */
  changed(type: string): void;
}

/**
 * Every task type's control on this node.
 *
 * @example
 * ```ts ignore
 * const controls = new TypeControls(parts);
 * await controls.load();
 * await controls.change("email", { paused: true });
 * ```
 */
export class TypeControls {
  #parts: ControlParts;
  #stored = new Map<string, StoredTypeControl>();
  #claim: ClaimControls = { exclude: [], limited: [] };

  constructor(parts: ControlParts) {
    this.#parts = parts;
  }

  /** Reads the saved controls and puts every type's in force. */
  async load(): Promise<void> {
    for (const stored of await this.#parts.store.typeControls()) {
      if (this.#parts.types.has(stored.type)) this.#stored.set(stored.type, stored);
    }
    for (const type of this.#parts.types.keys()) this.#parts.gate.set(this.get(type));
    this.#refreshClaim();
  }

  /** Rereads the saved controls and puts in force what changed (no events: their maker announced them). */
  async refresh(): Promise<void> {
    const stored = await this.#parts.store.typeControls();
    for (const control of stored) {
      if (!this.#parts.types.has(control.type)) continue;
      const before = this.get(control.type);
      this.#stored.set(control.type, control);
      const after = this.get(control.type);
      if (JSON.stringify(before) !== JSON.stringify(after)) this.#apply(after);
    }
  }

  /** The control of `type` (a type this engine runs). */
  get(type: string): TypeControl {
    const info = this.#parts.types.get(type);
    if (info === undefined) throw new UnknownTaskTypeError(type, "type");
    const stored = this.#stored.get(type);
    const moduleLimits = { ...info.limits };
    const set = stored?.limits ?? null;
    return {
      type,
      paused: stored?.paused ?? false,
      limits: set === null ? moduleLimits : { ...set },
      moduleLimits,
      limitsSet: set !== null,
    };
  }

  /** Every type's control, by name. */
  list(): TypeControl[] {
    return [...this.#parts.types.keys()].sort().map((type) => this.get(type));
  }

  /** Which types a claimed source claims apart or not at all. */
  claimControls(): ClaimControls {
    return this.#claim;
  }

  /**
   * Saves `change` to the control of `type`, puts it in force and announces
   * it. Rejects with `UnknownTaskTypeError` for a type this engine lacks.
   */
  async change(type: string, change: TypeControlChange): Promise<TypeControl> {
    const before = this.get(type);
    const previous = this.#stored.get(type);
    // In force here at once (a pause stops starts now), then saved; undone if the save fails.
    this.#stored.set(type, changedControl(type, previous, change));
    this.#apply(this.get(type));
    let stored: StoredTypeControl;
    try {
      stored = await this.#parts.store.saveTypeControl(type, change);
    } catch (error) {
      if (previous === undefined) this.#stored.delete(type);
      else this.#stored.set(type, previous);
      this.#apply(this.get(type));
      throw error;
    }
    this.#stored.set(type, stored);
    const after = this.get(type);
    this.#parts.gate.set(after);
    this.#refreshClaim();
    this.#announce(before, after);
    return after;
  }

  /** Takes up a change another node made (from its event). */
  relayed(event: ThreadFlowEvent): void {
    if (!("control" in event)) return;
    const { type, paused, limits, limitsSet } = event.control;
    if (!this.#parts.types.has(type)) return;
    this.#stored.set(type, { type, paused, limits: limitsSet ? { ...limits } : null });
    this.#apply(this.get(type));
  }

  /** Puts `after` in force (its unstarted tasks go back to wait under the new rules). */
  #apply(after: TypeControl): void {
    this.#parts.gate.set(after);
    this.#refreshClaim();
    this.#parts.changed(after.type);
  }

  /** Emits the events of the change from `before` to `after`. */
  #announce(before: TypeControl, after: TypeControl): void {
    const at = Date.now();
    const types: TypeEventType[] = [];
    if (before.paused !== after.paused) types.push(after.paused ? "type.paused" : "type.resumed");
    if (JSON.stringify(before.limits) !== JSON.stringify(after.limits)) {
      types.push("type.limits_changed");
    }
    for (const type of types) this.#parts.emit({ type, at, control: after });
  }

  #refreshClaim(): void {
    const exclude: string[] = [];
    const limited: ClaimControls["limited"] = [];
    for (const type of this.#parts.types.keys()) {
      const control = this.get(type);
      const limitedNow = hasLimits(control.limits);
      if (!control.paused && !limitedNow) continue;
      exclude.push(type);
      if (!control.paused) limited.push({ type, limits: control.limits });
    }
    this.#claim = { exclude, limited };
  }
}
