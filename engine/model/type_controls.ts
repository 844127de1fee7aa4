/**
 * Per-type controls: how many tasks of a type may run at once, how many may
 * start per second, and whether the type is paused. Defaults come from the
 * task module (`export const limits = { … }`); changes are persisted in the
 * store and, on a shared store, hold for the whole cluster.
 *
 * @module
 */

import { MAX_TYPE_LIMIT } from "./limits.ts";
import { ValidationError } from "./errors.ts";

/** Limits of one task type; a missing field is no limit. */
export interface TypeLimits {
  /** Most tasks of the type running (or handed to a worker) at once; across the cluster on a shared store. */
  concurrency?: number;
  /** Most starts per second (a token bucket; a shared budget on a shared store). */
  ratePerSecond?: number;
  /** Starts allowed at once after a quiet spell; default `max(1, ceil(ratePerSecond))`. */
  burst?: number;
}

/** A task type's limits and whether it is paused. */
export interface TypeControl {
  /** The task type's name. */
  type: string;
  /** A paused type's tasks stay queued (new ones are accepted); other types run. */
  paused: boolean;
  /** The limits in force: those set through the API, else the module's. */
  limits: TypeLimits;
  /** The task module's own limits (`export const limits`); `{}` when it has none. */
  moduleLimits: TypeLimits;
  /** `true` when `limits` were set through the API and replace the module's. */
  limitsSet: boolean;
}

/**
 * Checks limits from an untrusted source; throws `ValidationError` naming the
 * field. `null` for a field removes that limit.
 *
 * @example
 * ```ts
 * import { normalizeLimits } from "./engine/model/type_controls.ts";
 * normalizeLimits({ concurrency: 2, ratePerSecond: 50 }); // { concurrency: 2, ratePerSecond: 50 }
 * ```
 */
export function normalizeLimits(input: unknown, prefix = ""): TypeLimits {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ValidationError("Limits must be an object.", prefix.replace(/\.$/, "") || "limits");
  }
  const fields = input as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!["concurrency", "ratePerSecond", "burst"].includes(key)) {
      throw new ValidationError(
        `Unknown limit ${JSON.stringify(key)}: limits are concurrency, ratePerSecond and burst.`,
        prefix + key,
      );
    }
  }
  const limits: TypeLimits = {};
  const concurrency = fields.concurrency;
  if (concurrency !== undefined && concurrency !== null) {
    if (
      typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1 ||
      concurrency > MAX_TYPE_LIMIT
    ) {
      throw new ValidationError(
        `Field concurrency must be an integer from 1 to ${MAX_TYPE_LIMIT}: received ${
          JSON.stringify(concurrency)
        }.`,
        prefix + "concurrency",
      );
    }
    limits.concurrency = concurrency;
  }
  const rate = fields.ratePerSecond;
  if (rate !== undefined && rate !== null) {
    if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0 || rate > MAX_TYPE_LIMIT) {
      throw new ValidationError(
        `Field ratePerSecond must be a number above 0 and at most ${MAX_TYPE_LIMIT}: received ${
          JSON.stringify(rate)
        }.`,
        prefix + "ratePerSecond",
      );
    }
    limits.ratePerSecond = rate;
  }
  const burst = fields.burst;
  if (burst !== undefined && burst !== null) {
    if (
      typeof burst !== "number" || !Number.isInteger(burst) || burst < 1 || burst > MAX_TYPE_LIMIT
    ) {
      throw new ValidationError(
        `Field burst must be an integer from 1 to ${MAX_TYPE_LIMIT}: received ${
          JSON.stringify(burst)
        }.`,
        prefix + "burst",
      );
    }
    if (limits.ratePerSecond === undefined) {
      throw new ValidationError("Field burst needs ratePerSecond.", prefix + "burst");
    }
    limits.burst = burst;
  }
  return limits;
}

/** The burst of `limits` (its bucket's size), or `undefined` without a rate. */
export function burstOf(limits: TypeLimits): number | undefined {
  if (limits.ratePerSecond === undefined) return undefined;
  return limits.burst ?? Math.max(1, Math.ceil(limits.ratePerSecond));
}

/** A type's control as a store keeps it: `limits` `null` means the module's own. */
export interface StoredTypeControl {
  type: string;
  paused: boolean;
  /** Limits set through the API, or `null` for the module's (`export const limits`). */
  limits: TypeLimits | null;
}

/** What a store is asked to change of a type's control; a missing field stays as it is. */
export interface TypeControlChange {
  paused?: boolean;
  /** New limits, or `null` to go back to the module's. */
  limits?: TypeLimits | null;
}

/** Applies `change` to `stored` (or to a fresh control of `type`). */
export function changedControl(
  type: string,
  stored: StoredTypeControl | undefined,
  change: TypeControlChange,
): StoredTypeControl {
  return {
    type,
    paused: change.paused ?? stored?.paused ?? false,
    limits: change.limits !== undefined ? change.limits : stored?.limits ?? null,
  };
}

/** Whether `limits` limits anything. */
export function hasLimits(limits: TypeLimits): boolean {
  return limits.concurrency !== undefined || limits.ratePerSecond !== undefined;
}
