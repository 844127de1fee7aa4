/**
 * `tf.schedules`: create, read, change, pause, resume and delete schedules,
 * each saved in the store (so every node of a cluster sees it) and announced
 * as a `schedule.*` event. Firing is {@linkcode ScheduleFirer}'s.
 *
 * @module
 */

import { ScheduleExistsError, ScheduleNotFoundError, ValidationError } from "../model/errors.ts";
import type { ScheduleEvent, ScheduleEventType, ThreadFlowEvent } from "../model/events.ts";
import {
  checkScheduleName,
  checkTimezone,
  MAX_SCHEDULE_PAYLOAD_BYTES,
  type Schedule,
  type ScheduleCatchUp,
  type ScheduleChange,
  type ScheduleInput,
  type ScheduleOverlap,
  type ScheduleTask,
  scheduleTiming,
  type StoredSchedule,
} from "../model/schedule.ts";
import { type FirerParts, type ScheduleClock, ScheduleFirer } from "./schedule_firer.ts";

/** What the schedules need from the engine. */
export interface ScheduleParts extends Omit<FirerParts, "view"> {
  /** Validates a task template as a submit would; throws naming `task.<field>`. */
  checkTask(task: ScheduleTask): void;
  /** Throws `ClosedError` once the engine is closing: schedules change no more. */
  assertAccepting(): void;
}

/** How many coming ticks a schedule lists. */
const NEXT_RUNS = 5;
const INPUT_FIELDS = ["name", "cron", "timezone", "task", "overlap", "catchUp", "paused"];
const CHANGE_FIELDS = ["cron", "timezone", "task", "overlap", "catchUp", "paused"];
const TASK_FIELDS = ["type", "payload", "priority", "timeoutMs", "maxAttempts"];

/**
 * The schedules of an engine (`tf.schedules`).
 *
 * @example
 * ```ts
 * import { ThreadFlow } from "./mod.ts";
 * const tf = await ThreadFlow.start({ workers: 1 });
 * await tf.schedules.create({ name: "tick", cron: "@every 30s", task: { type: "noop" } });
 * const [tick] = await tf.schedules.list(); // tick.nextRuns: the next 5 ticks
 * await tf.schedules.pause("tick");
 * await tf.schedules.delete("tick");
 * await tf.close();
 * ```
 */
export class Schedules {
  #parts: ScheduleParts;
  #clock: ScheduleClock;
  #firer: ScheduleFirer;

  /** Built by the engine; use `tf.schedules`. */
  constructor(parts: ScheduleParts) {
    this.#parts = parts;
    this.#clock = parts.clock;
    this.#firer = new ScheduleFirer({ ...parts, view: (stored) => this.#view(stored) });
  }

  /**
   * Creates a schedule. Rejects with `ValidationError` naming the field (a
   * bad cron or time zone carries croner's message), `UnknownTaskTypeError`
   * (field `task.type`), or `ScheduleExistsError` when the name is taken.
   */
  async create(input: ScheduleInput): Promise<Schedule> {
    this.#parts.assertAccepting();
    const checked = this.#checkInput(input);
    const now = this.#clock.now();
    const timing = scheduleTiming(checked.cron, checked.timezone, now);
    const stored: StoredSchedule = {
      ...checked,
      createdAt: now,
      updatedAt: now,
      nextRunAt: timing.next(now),
      lastTick: null,
      lastTaskId: null,
    };
    if (!await this.#parts.store.insertSchedule(stored)) throw new ScheduleExistsError(stored.name);
    const schedule = this.#announce("schedule.created", stored);
    this.#firer.wake();
    return schedule;
  }

  /** The schedule named `name` with its coming ticks, or `undefined`. */
  async get(name: string): Promise<Schedule | undefined> {
    const stored = await this.#parts.store.getSchedule(name);
    return stored === undefined ? undefined : this.#view(stored);
  }

  /** Every schedule, by name, each with its coming ticks. */
  async list(): Promise<Schedule[]> {
    return (await this.#parts.store.schedules()).map((stored) => this.#view(stored));
  }

  /**
   * Changes a schedule: any of `cron`, `timezone`, `task`, `overlap`,
   * `catchUp`, and `paused` (`true` pauses, `false` resumes from the next
   * tick after now). Rejects with `ScheduleNotFoundError`, or
   * `ValidationError` naming the field.
   */
  async update(name: string, change: ScheduleChange): Promise<Schedule> {
    this.#parts.assertAccepting();
    const checked = this.#checkChange(change);
    const current = await this.#parts.store.getSchedule(name);
    if (current === undefined) throw new ScheduleNotFoundError(name);
    const now = this.#clock.now();
    const merged = { ...current, ...checked };
    const timing = scheduleTiming(merged.cron, merged.timezone, current.createdAt);
    const retimed = merged.cron !== current.cron || merged.timezone !== current.timezone;
    const resumed = current.paused && !merged.paused;
    const saved = await this.#parts.store.updateSchedule(name, {
      cron: merged.cron,
      timezone: merged.timezone,
      task: merged.task,
      overlap: merged.overlap,
      catchUp: merged.catchUp,
      paused: merged.paused,
      updatedAt: now,
      // Ticks while paused are not caught up; a new pattern starts from now.
      nextRunAt: retimed || resumed ? timing.next(now) : undefined,
    });
    if (saved === undefined) throw new ScheduleNotFoundError(name);
    const { paused: _before, ...definitionBefore } = definition(current);
    const { paused: _after, ...definitionAfter } = definition(saved);
    let schedule = this.#view(saved);
    if (JSON.stringify(definitionBefore) !== JSON.stringify(definitionAfter)) {
      schedule = this.#announce("schedule.updated", saved);
    }
    if (current.paused !== saved.paused) {
      schedule = this.#announce(saved.paused ? "schedule.paused" : "schedule.resumed", saved);
    }
    this.#firer.wake();
    return schedule;
  }

  /** Pauses a schedule: no tick fires until it is resumed. */
  pause(name: string): Promise<Schedule> {
    return this.update(name, { paused: true });
  }

  /** Resumes a paused schedule from its next tick after now (ticks while paused are not caught up). */
  resume(name: string): Promise<Schedule> {
    return this.update(name, { paused: false });
  }

  /** Deletes a schedule (its tasks stay); resolves with it as it was. Rejects with `ScheduleNotFoundError`. */
  async delete(name: string): Promise<Schedule> {
    this.#parts.assertAccepting();
    const current = await this.#parts.store.getSchedule(name);
    if (current === undefined || !await this.#parts.store.deleteSchedule(name)) {
      throw new ScheduleNotFoundError(name);
    }
    return this.#announce("schedule.deleted", current);
  }

  /** Starts firing due schedules. */
  start(): void {
    this.#firer.start();
  }

  /** Stops firing; resolves once a fire under way has been recorded. */
  close(): Promise<void> {
    return this.#firer.close();
  }

  /** Another node changed a schedule: it may be due sooner than this node waits. */
  relayed(event: ThreadFlowEvent): void {
    if ("schedule" in event && event.type !== "schedule.fired") this.#firer.wake();
  }

  #announce(type: ScheduleEventType, stored: StoredSchedule): Schedule {
    const schedule = this.#view(stored);
    const event: Omit<ScheduleEvent, "seq"> = { type, at: Date.now(), name: stored.name, schedule };
    this.#parts.emit(event);
    return schedule;
  }

  #view(stored: StoredSchedule): Schedule {
    const nextRuns: number[] = [];
    if (!stored.paused && stored.nextRunAt !== null) {
      nextRuns.push(stored.nextRunAt);
      const timing = scheduleTiming(stored.cron, stored.timezone, stored.createdAt);
      const after = Math.max(stored.nextRunAt, this.#clock.now());
      nextRuns.push(...timing.upcoming(after, NEXT_RUNS - 1));
    }
    return { ...stored, task: structuredClone(stored.task), nextRuns };
  }

  #checkInput(
    input: ScheduleInput,
  ): Omit<StoredSchedule, "createdAt" | "updatedAt" | "nextRunAt" | "lastTick" | "lastTaskId"> {
    const fields = objectOf(input, "", "A schedule");
    knownFields(fields, INPUT_FIELDS, "");
    const name = checkScheduleName(fields.name);
    if (typeof fields.cron !== "string") {
      throw new ValidationError(
        `Field cron must be a cron pattern or "@every <interval>": received ${show(fields.cron)}.`,
        "cron",
      );
    }
    return {
      name,
      cron: fields.cron.trim(),
      timezone: fields.timezone === undefined ? "UTC" : checkTimezone(fields.timezone),
      task: this.#checkTask(fields.task),
      overlap: oneOf<ScheduleOverlap>(fields.overlap, ["allow", "skip"], "overlap") ?? "allow",
      catchUp: oneOf<ScheduleCatchUp>(fields.catchUp, ["latest", "all", "none"], "catchUp") ??
        "latest",
      paused: boolField(fields.paused, "paused") ?? false,
    };
  }

  #checkChange(change: ScheduleChange): ScheduleChange {
    const fields = objectOf(change, "", "A schedule change");
    knownFields(fields, CHANGE_FIELDS, "");
    const checked: ScheduleChange = {};
    if (fields.cron !== undefined) {
      if (typeof fields.cron !== "string") {
        throw new ValidationError(
          `Field cron must be a cron pattern or "@every <interval>": received ${
            show(fields.cron)
          }.`,
          "cron",
        );
      }
      checked.cron = fields.cron.trim();
    }
    if (fields.timezone !== undefined) checked.timezone = checkTimezone(fields.timezone);
    if (fields.task !== undefined) checked.task = this.#checkTask(fields.task);
    const overlap = oneOf<ScheduleOverlap>(fields.overlap, ["allow", "skip"], "overlap");
    if (overlap !== undefined) checked.overlap = overlap;
    const catchUp = oneOf<ScheduleCatchUp>(fields.catchUp, ["latest", "all", "none"], "catchUp");
    if (catchUp !== undefined) checked.catchUp = catchUp;
    const paused = boolField(fields.paused, "paused");
    if (paused !== undefined) checked.paused = paused;
    return checked;
  }

  #checkTask(value: unknown): ScheduleTask {
    const fields = objectOf(value, "task", "Field task");
    knownFields(fields, TASK_FIELDS, "task.");
    if (fields.payload instanceof Uint8Array) {
      throw new ValidationError(
        "Field task.payload must be a JSON value: a schedule cannot repeat a byte payload.",
        "task.payload",
      );
    }
    const json = JSON.stringify(fields.payload ?? null) ?? "null";
    const size = new TextEncoder().encode(json).length;
    if (size > MAX_SCHEDULE_PAYLOAD_BYTES) {
      throw new ValidationError(
        `Field task.payload must be at most ${MAX_SCHEDULE_PAYLOAD_BYTES} bytes of JSON for a ` +
          `schedule: received ${size} bytes. Keep large inputs elsewhere and pass a reference.`,
        "task.payload",
      );
    }
    this.#parts.checkTask(fields as unknown as ScheduleTask);
    const task: ScheduleTask = { type: fields.type as string };
    for (const key of TASK_FIELDS.slice(1)) {
      if (fields[key] !== undefined) {
        (task as unknown as Record<string, unknown>)[key] = structuredClone(fields[key]);
      }
    }
    return task;
  }
}

/** The fields a user sets (not the fire record), for telling what a change changed. */
function definition(schedule: StoredSchedule) {
  const { cron, timezone, task, overlap, catchUp, paused } = schedule;
  return { cron, timezone, task, overlap, catchUp, paused };
}

function objectOf(value: unknown, field: string, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(
      `${what} must be a JSON object: received ${show(value)}.`,
      field || undefined,
    );
  }
  return value as Record<string, unknown>;
}

function knownFields(fields: Record<string, unknown>, known: string[], prefix: string): void {
  for (const key of Object.keys(fields)) {
    if (!known.includes(key)) {
      throw new ValidationError(
        `Unknown field ${JSON.stringify(prefix + key)}: expected ${known.join(", ")}.`,
        prefix + key,
      );
    }
  }
}

function oneOf<T extends string>(value: unknown, allowed: T[], field: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    throw new ValidationError(
      `Field ${field} must be ${allowed.map((a) => JSON.stringify(a)).join(" or ")}: received ${
        show(value)
      }.`,
      field,
    );
  }
  return value as T;
}

function boolField(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") {
    throw new ValidationError(
      `Field ${field} must be true or false: received ${show(value)}.`,
      field,
    );
  }
  return value;
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
