/**
 * Fires due schedules: the loop that, on every node, claims schedules whose
 * tick has come, submits their task and records the fire.
 *
 * Exactly once per tick, across every node: a node first claims the
 * schedule row (a lease taken by a conditional UPDATE, so two nodes never
 * fire one schedule at once), then submits each tick's task with the
 * idempotency key `schedule:<name>:<tick ISO>` (unique in the store: a tick
 * submitted again after a node died between submitting and recording finds
 * its task and creates none), then advances `nextRunAt` only if it is still
 * the tick it claimed. `schedule.fired` is emitted by the submit that created
 * the task, so it too is announced once.
 *
 * @module
 */

import { ThreadFlowError } from "../model/errors.ts";
import type { ScheduleEvent } from "../model/events.ts";
import { dueTicks, type Schedule, scheduleTiming, type StoredSchedule } from "../model/schedule.ts";
import { isTerminal, type SubmitInput, type SubmitResult, type Task } from "../model/task.ts";
import type { TaskScheduleRef } from "../model/task.ts";
import type { TaskStore } from "../store/store.ts";

/** The clock schedules run on: the real one, or a fake in tests. */
export interface ScheduleClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The real clock. */
export const REAL_CLOCK: ScheduleClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id as number),
};

/** What the firer needs from the engine. */
export interface FirerParts {
  store: TaskStore;
  /** Whether other nodes share the store (they may change schedules: poll often). */
  shared: boolean;
  /** Who holds a claim (the node id). */
  owner: string;
  clock: ScheduleClock;
  /** Submits a tick's task (recorded with the schedule and tick). */
  submit(input: SubmitInput, schedule: TaskScheduleRef): Promise<SubmitResult>;
  /** The task with this id, or `undefined` (pruned). */
  task(id: string): Promise<Task | undefined>;
  /** Announces an event (numbered by the engine). */
  emit(event: Omit<ScheduleEvent, "seq">): void;
  /** A schedule with its coming ticks. */
  view(schedule: StoredSchedule): Schedule;
}

/** How long a claim keeps other nodes off a schedule (and the wait before a failed fire is tried again). */
export const SCHEDULE_LEASE_MS = 15_000;
/** Schedules claimed per round. */
const CLAIM_BATCH = 100;
/** Longest sleep with a shared store: other nodes may create or change schedules. */
const SHARED_POLL_MS = 1_000;
/** Longest sleep with a local store (every change comes through this engine, which wakes it). */
const LOCAL_POLL_MS = 60_000;
/** Wait after the store failed. */
const RETRY_MS = 1_000;

/** The idempotency key of a tick's task. */
export function tickKey(name: string, tick: number): string {
  return `schedule:${name}:${new Date(tick).toISOString()}`;
}

/**
 * The firing loop of one engine.
 *
 * @example
 * ```ts ignore
 * const firer = new ScheduleFirer(parts);
 * firer.start();
 * await firer.close();
 * ```
 */
export class ScheduleFirer {
  #parts: FirerParts;
  #timer: unknown;
  #round: Promise<void> | undefined;
  #again = false;
  #closed = true;
  /** Whether the last round failed (its warning is given once until a round succeeds). */
  #failing = false;

  constructor(parts: FirerParts) {
    this.#parts = parts;
  }

  /** Starts firing (the first round at once: ticks missed while down are caught up). */
  start(): void {
    this.#closed = false;
    this.wake();
  }

  /** Looks for due schedules now (a schedule was created or changed). */
  wake(): void {
    if (this.#closed) return;
    if (this.#round !== undefined) {
      this.#again = true;
      return;
    }
    this.#sleep(0);
  }

  /** Stops firing; resolves once a round under way has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#parts.clock.clearTimeout(this.#timer);
    await this.#round;
  }

  #sleep(ms: number): void {
    this.#parts.clock.clearTimeout(this.#timer);
    this.#timer = this.#parts.clock.setTimeout(() => {
      this.#round = this.#runRound().finally(() => {
        this.#round = undefined;
        // Woken while the round was ending: look again now rather than after its sleep.
        if (this.#again && !this.#closed) this.#sleep(0);
      });
    }, Math.max(0, ms));
  }

  async #runRound(): Promise<void> {
    const { store, clock } = this.#parts;
    let wait: number;
    try {
      let claimed: StoredSchedule[];
      do {
        this.#again = false;
        const now = clock.now();
        claimed = await store.claimDueSchedules(
          now,
          this.#parts.owner,
          SCHEDULE_LEASE_MS,
          CLAIM_BATCH,
        );
        for (const schedule of claimed) {
          if (this.#closed) return;
          await this.#fire(schedule, now);
        }
      } while (!this.#closed && (this.#again || claimed.length === CLAIM_BATCH));
      const next = await store.nextScheduleAt();
      const poll = this.#parts.shared ? SHARED_POLL_MS : LOCAL_POLL_MS;
      wait = next === null ? poll : Math.min(poll, next - clock.now());
      this.#failing = false;
    } catch (error) {
      if (!this.#closed && !this.#failing) {
        console.warn(
          `ThreadFlow could not fire schedules (trying every second): ${describe(error)}`,
        );
      }
      this.#failing = true;
      wait = RETRY_MS;
    }
    if (this.#closed) return;
    this.#sleep(wait);
  }

  /** Fires the due ticks of one claimed schedule and records it. */
  async #fire(schedule: StoredSchedule, now: number): Promise<void> {
    const first = schedule.nextRunAt!;
    const timing = scheduleTiming(schedule.cron, schedule.timezone, schedule.createdAt);
    const due = dueTicks(timing, first, now, schedule.catchUp);
    if (due.leftOut && schedule.catchUp === "all") {
      console.warn(
        `ThreadFlow: schedule "${schedule.name}" missed more than ${due.fire.length} ticks; ` +
          `firing the latest ${due.fire.length} only (catchUp "all" is bounded).`,
      );
    }
    let lastTick = schedule.lastTick;
    let lastTaskId = schedule.lastTaskId;
    const advanced = (tick: number) => ({ nextRunAt: due.nextRunAt, lastTick: tick, lastTaskId });
    try {
      for (const tick of due.fire) {
        if (schedule.overlap === "skip" && lastTaskId !== null) {
          const previous = await this.#parts.task(lastTaskId);
          if (previous !== undefined && !isTerminal(previous.status)) {
            lastTick = tick;
            this.#announce("schedule.skipped", { ...schedule, ...advanced(tick) }, previous.id);
            continue;
          }
        }
        const { task, created } = await this.#parts.submit(
          { ...schedule.task, idempotencyKey: tickKey(schedule.name, tick) },
          { name: schedule.name, tick },
        );
        lastTick = tick;
        lastTaskId = task.id;
        if (created) this.#announce("schedule.fired", { ...schedule, ...advanced(tick) }, task.id);
      }
    } catch (error) {
      if (!permanent(error)) {
        // Queue full, store or engine unavailable: the claim lapses and the tick is tried again.
        console.warn(
          `ThreadFlow could not fire schedule "${schedule.name}" (tried again in ` +
            `${SCHEDULE_LEASE_MS / 1000} s): ${describe(error)}`,
        );
        return;
      }
      // A task the engine refuses (its type is gone): this tick is dropped, later ones tried.
      console.warn(`ThreadFlow skipped a tick of schedule "${schedule.name}": ${describe(error)}`);
    }
    const advance = { nextRunAt: due.nextRunAt, lastTick, lastTaskId };
    await this.#parts.store.advanceSchedule(schedule.name, first, advance);
  }

  /** Announces a tick fired or skipped; `schedule` as it stands after it. */
  #announce(
    type: "schedule.fired" | "schedule.skipped",
    schedule: StoredSchedule,
    taskId: string,
  ): void {
    this.#parts.emit({
      type,
      at: Date.now(),
      name: schedule.name,
      schedule: this.#parts.view(schedule),
      tick: schedule.lastTick!,
      taskId,
      nodeId: this.#parts.owner,
    });
  }
}

/** Whether submitting will fail the same way again (a refused task, not a passing condition). */
function permanent(error: unknown): boolean {
  return error instanceof ThreadFlowError &&
    ["validation_error", "unknown_task_type", "payload_too_large"].includes(error.code);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
