/**
 * Schedules: a task submitted on a cron pattern or a fixed interval. This
 * module is the domain: what a schedule is, how its timing is read (cron by
 * croner, `@every` here), and which ticks fire at a moment under each
 * catch-up policy. Firing is the engine's (`facade/schedules.ts`).
 *
 * @module
 */

import { Cron } from "croner";
import { ValidationError } from "./errors.ts";

/** What a tick does while the task of the previous fire has not finished. */
export type ScheduleOverlap = "skip" | "allow";

/** What happens to ticks missed while no node ran (or the store was unreachable). */
export type ScheduleCatchUp = "none" | "latest" | "all";

/** The task a schedule submits at each tick: the submit fields that make sense for a repeat. */
export interface ScheduleTask {
  /** Task type (a built-in or a module in `tasksDir`). */
  type: string;
  /** JSON value passed to the handler; default `null`. */
  payload?: unknown;
  /** 1 to 10; default 5. */
  priority?: number;
  /** Run time limit; default the engine's. */
  timeoutMs?: number;
  /** Attempts; default the engine's. */
  maxAttempts?: number;
}

/**
 * What a caller gives to create a schedule.
 *
 * @example
 * ```ts
 * import type { ScheduleInput } from "./schedule.ts";
 * const nightly: ScheduleInput = {
 *   name: "nightly-report",
 *   cron: "0 3 * * *",
 *   timezone: "Europe/Paris",
 *   task: { type: "report", payload: { kind: "daily" } },
 * };
 * ```
 */
export interface ScheduleInput {
  /** 1 to 100 letters, digits, `.`, `_`, `-`, `:`; starts with a letter or digit. */
  name: string;
  /** Five-field cron (`*\/5 * * * *`; a sixth leading field for seconds), `@daily`…, or `@every 30s`. */
  cron: string;
  /** IANA time zone the cron pattern is read in; default `UTC`. */
  timezone?: string;
  /** The task submitted at each tick. */
  task: ScheduleTask;
  /** `allow` (default) or `skip`: see {@linkcode ScheduleOverlap}. */
  overlap?: ScheduleOverlap;
  /** `latest` (default), `all` or `none`: see {@linkcode ScheduleCatchUp}. */
  catchUp?: ScheduleCatchUp;
  /** Create it paused; default `false`. */
  paused?: boolean;
}

/** A change to a schedule; a missing field stays as it is. */
export interface ScheduleChange {
  /** A new pattern; ticks count from now. */
  cron?: string;
  /** A new time zone; ticks count from now. */
  timezone?: string;
  /** A new task for the coming ticks. */
  task?: ScheduleTask;
  /** See {@linkcode ScheduleOverlap}. */
  overlap?: ScheduleOverlap;
  /** See {@linkcode ScheduleCatchUp}. */
  catchUp?: ScheduleCatchUp;
  /** `true` pauses, `false` resumes (from the next tick after now; paused ticks are not caught up). */
  paused?: boolean;
}

/** A schedule as a store keeps it. Times are ms since the epoch. */
export interface StoredSchedule {
  /** Unique name. */
  name: string;
  /** Cron pattern or `@every <interval>`. */
  cron: string;
  /** IANA time zone the pattern is read in. */
  timezone: string;
  /** The task submitted at each tick. */
  task: ScheduleTask;
  /** See {@linkcode ScheduleOverlap}. */
  overlap: ScheduleOverlap;
  /** See {@linkcode ScheduleCatchUp}. */
  catchUp: ScheduleCatchUp;
  /** A paused schedule fires nothing. */
  paused: boolean;
  /** When it was created (the anchor of `@every`). */
  createdAt: number;
  /** When it was last changed. */
  updatedAt: number;
  /** The first tick not yet fired (due when it is past); `null` when the pattern never matches again. */
  nextRunAt: number | null;
  /** The last tick that fired (or was skipped for overlap), or `null`. */
  lastTick: number | null;
  /** The task the last fire submitted, or `null`. */
  lastTaskId: string | null;
}

/** A schedule with its coming ticks, as the API answers. */
export interface Schedule extends StoredSchedule {
  /** The next ticks (up to 5), ms since the epoch; empty when paused or never again. */
  nextRuns: number[];
}

/**
 * What a store is asked to change of a schedule: its definition as a whole
 * (the fields of {@linkcode StoredSchedule}), and `nextRunAt` when given.
 */
export interface ScheduleUpdate
  extends Pick<StoredSchedule, "cron" | "timezone" | "task" | "overlap" | "catchUp" | "paused"> {
  /** When the change was made. */
  updatedAt: number;
  /** The next tick, when the timing changed or the schedule resumed; `undefined` keeps it. */
  nextRunAt?: number | null;
}

/** What a fire records (the fields of {@linkcode StoredSchedule} of the same names). */
export type ScheduleAdvance = Pick<StoredSchedule, "nextRunAt" | "lastTick" | "lastTaskId">;

/** Most ticks one catch-up fires with `catchUp: "all"` (the latest ones). */
export const MAX_CATCH_UP_TICKS = 1_000;
/** A tick later than this is missed (for `catchUp: "none"`); earlier, it is merely late. */
export const MISSED_AFTER_MS = 5_000;
/**
 * Largest payload of a schedule's task, as JSON text: schedule events carry
 * it, and on PostgreSQL they travel between nodes by NOTIFY (under 8,000 bytes).
 */
export const MAX_SCHEDULE_PAYLOAD_BYTES = 4_096;
/** Shortest `@every` interval. */
export const MIN_EVERY_MS = 1_000;
/** Longest `@every` interval (a year). */
export const MAX_EVERY_MS = 365 * 86_400_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;
const EVERY = /^@every\s+(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Checks a schedule name; throws `ValidationError` naming `name`. */
export function checkScheduleName(name: unknown): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new ValidationError(
      "Field name must be 1 to 100 letters, digits, '.', '_', '-' or ':', starting with a " +
        `letter or digit: received ${JSON.stringify(name) ?? String(name)}.`,
      "name",
    );
  }
  return name;
}

/**
 * A schedule's timing: when its ticks fall.
 *
 * @example
 * ```ts
 * import { scheduleTiming } from "./schedule.ts";
 * const every = scheduleTiming("@every 30s", "UTC", 0);
 * every.next(45_000); // 60_000
 * ```
 */
export interface ScheduleTiming {
  /** The first tick strictly after `after`, or `null` when none comes. */
  next(after: number): number | null;
  /** The last tick at or before `at`, or `null`. */
  latest(at: number): number | null;
  /** The next `count` ticks strictly after `after`. */
  upcoming(after: number, count: number): number[];
  /** The last `count` ticks at or before `at`, oldest first. */
  recent(at: number, count: number): number[];
}

/**
 * Reads `cron` in `timezone`. `@every <n><ms|s|m|h>` ticks every interval from
 * `anchor` (the schedule's creation; its whole second when the interval is
 * whole seconds); anything else is a cron pattern read by
 * croner. Throws `ValidationError` naming `cron` or `timezone` (with croner's
 * message) for a pattern or zone it cannot read, or a pattern that never matches.
 */
export function scheduleTiming(cron: string, timezone: string, anchor: number): ScheduleTiming {
  if (typeof cron !== "string" || cron.trim() === "") {
    throw new ValidationError(
      `Field cron must be a cron pattern or "@every <interval>": received ${
        JSON.stringify(cron) ?? String(cron)
      }.`,
      "cron",
    );
  }
  checkTimezone(timezone);
  const text = cron.trim();
  if (/^@every\b/i.test(text)) return everyTiming(text, anchor);
  let pattern: Cron;
  try {
    pattern = new Cron(text, { timezone, paused: true });
  } catch (error) {
    throw new ValidationError(
      `Field cron is not a valid cron pattern (five fields, or six with seconds first): ${
        (error as Error).message
      }`,
      "cron",
    );
  }
  const timing: ScheduleTiming = {
    next: (after) => pattern.nextRun(new Date(after))?.getTime() ?? null,
    latest: (at) => pattern.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? null,
    upcoming: (after, count) => pattern.nextRuns(count, new Date(after)).map((d) => d.getTime()),
    recent: (at, count) =>
      pattern.previousRuns(count, new Date(at + 1)).map((d) => d.getTime()).reverse(),
  };
  if (timing.next(Date.now()) === null) {
    throw new ValidationError(
      `Field cron never matches a coming date: received ${JSON.stringify(text)}.`,
      "cron",
    );
  }
  return timing;
}

function everyTiming(text: string, anchor: number): ScheduleTiming {
  const match = EVERY.exec(text);
  const interval = match === null ? NaN : Number(match[1]) * UNIT_MS[match[2].toLowerCase()];
  if (!Number.isInteger(interval) || interval < MIN_EVERY_MS || interval > MAX_EVERY_MS) {
    throw new ValidationError(
      `Field cron must be "@every <n><unit>" with unit ms, s, m or h, from 1s to 8760h ` +
        `(e.g. "@every 30s"): received ${JSON.stringify(text)}.`,
      "cron",
    );
  }
  // Whole-second intervals tick on whole seconds: counted from the second the schedule was made.
  if (interval % 1_000 === 0) anchor = Math.floor(anchor / 1_000) * 1_000;
  const next = (after: number) => anchor + (Math.floor((after - anchor) / interval) + 1) * interval;
  const latest = (at: number) =>
    at < anchor ? null : anchor + Math.floor((at - anchor) / interval) * interval;
  return {
    next,
    latest,
    recent: (at, count) => {
      const ticks: number[] = [];
      for (let tick = latest(at); tick !== null && tick >= anchor && ticks.length < count;) {
        ticks.unshift(tick);
        tick -= interval;
      }
      return ticks;
    },
    upcoming: (after, count) => {
      const ticks: number[] = [];
      for (let tick = next(after); ticks.length < count; tick += interval) ticks.push(tick);
      return ticks;
    },
  };
}

/** Checks an IANA time zone (as croner reads it); throws `ValidationError` naming `timezone`. */
export function checkTimezone(timezone: unknown): string {
  if (typeof timezone !== "string" || timezone === "") {
    throw new ValidationError(
      `Field timezone must be an IANA time zone such as "Europe/Paris": received ${
        JSON.stringify(timezone) ?? String(timezone)
      }.`,
      "timezone",
    );
  }
  try {
    new Cron("* * * * *", { timezone, paused: true }).nextRun();
  } catch (error) {
    throw new ValidationError(
      `Field timezone must be an IANA time zone such as "Europe/Paris": ${
        (error as Error).message.replace(/\.?$/, ".")
      }`,
      "timezone",
    );
  }
  return timezone;
}

/** The ticks to fire now and the next one to wait for. */
export interface DueTicks {
  /** Ticks to fire, oldest first. */
  fire: number[];
  /** Whether missed ticks were left out (by `catchUp`, or past {@linkcode MAX_CATCH_UP_TICKS}). */
  leftOut: boolean;
  /** The first tick after `now`, or `null` when none comes. */
  nextRunAt: number | null;
}

/**
 * Which ticks fire at `now` for a schedule whose first unfired tick is
 * `first`: with `all` every one up to now (at most the latest
 * {@linkcode MAX_CATCH_UP_TICKS}), with `latest` the latest, and with `none`
 * the latest only when it is less than {@linkcode MISSED_AFTER_MS} late.
 *
 * @example
 * ```ts
 * import { dueTicks, scheduleTiming } from "./schedule.ts";
 * const timing = scheduleTiming("@every 1s", "UTC", 0);
 * dueTicks(timing, 1_000, 3_500, "latest"); // { fire: [3000], leftOut: true, nextRunAt: 4000 }
 * ```
 */
export function dueTicks(
  timing: ScheduleTiming,
  first: number,
  now: number,
  catchUp: ScheduleCatchUp,
): DueTicks {
  if (first > now) return { fire: [], leftOut: false, nextRunAt: first };
  const nextRunAt = timing.next(now);
  const latest = Math.max(first, timing.latest(now) ?? first);
  if (latest === first) {
    const onTime = catchUp !== "none" || now - first < MISSED_AFTER_MS;
    return { fire: onTime ? [first] : [], leftOut: !onTime, nextRunAt };
  }
  if (catchUp === "all") {
    const recent = timing.recent(now, MAX_CATCH_UP_TICKS + 1).filter((tick) => tick >= first);
    const leftOut = recent.length > MAX_CATCH_UP_TICKS;
    return { fire: leftOut ? recent.slice(1) : recent, leftOut, nextRunAt };
  }
  const fire = catchUp === "latest" || now - latest < MISSED_AFTER_MS ? [latest] : [];
  return { fire, leftOut: true, nextRunAt };
}
