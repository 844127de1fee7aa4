/**
 * The answers of `GET /api/tasks/:id` for tasks that ended, kept so a task
 * read again and again (a status page, many clients watching one job) costs
 * no store read, copy, JSON or hash: about 5 µs of a 20 µs read.
 *
 * Only ended tasks are kept: they change only when retried, and a retry
 * moves the task, which emits an event that drops its answer. A read that
 * saw any task event while it waited for the store keeps nothing (the event
 * may have come before its answer could be dropped). Retention deletes
 * tasks without an event: the service drops every answer when it does
 * (`forgetAll`, from the engine's `onPruned`). Each answer is kept at most
 * {@linkcode ENDED_ANSWER_TTL_MS} besides, a bound on anything else. Only a
 * local store's engine keeps them; on a shared store another node may retry
 * the task, and its event arrives here later.
 *
 * @module
 */

import type { Task, ThreadFlowEvent } from "../engine/mod.ts";
import { isTerminal } from "../engine/mod.ts";

/** How long an answer is kept at most. */
export const ENDED_ANSWER_TTL_MS = 1_000;

/** Answers kept at most; the oldest goes first. */
export const ENDED_ANSWERS_MAX = 1_024;

/** A JSON answer: its text, its UTF-8 bytes and, when already known, their tag. */
export interface JsonAnswer {
  json: string;
  bytes: Uint8Array;
  etag?: string;
}

interface Kept {
  answer: JsonAnswer;
  /** When kept, ms since epoch. */
  at: number;
}

/**
 * Ended tasks' answers by task id.
 *
 * @example
 * ```ts
 * import { EndedAnswers } from "./ended_answers.ts";
 * const answers = new EndedAnswers();
 * answers.get("0190-…", Date.now()); // undefined until one is kept
 * ```
 */
export class EndedAnswers {
  #kept = new Map<string, Kept>();
  /** When the newest answer was kept: once all are too old, events stop looking them up. */
  #newestAt = 0;
  #events = 0;

  /** Task events seen so far: a read notes it before it waits, and hands it to `keep`. */
  get events(): number {
    return this.#events;
  }

  /** The answer kept for `id`, unless none is or it is too old (`now`: ms since epoch). */
  get(id: string, now: number): JsonAnswer | undefined {
    const kept = this.#kept.get(id);
    if (kept === undefined) return undefined;
    if (now - kept.at < ENDED_ANSWER_TTL_MS) return kept.answer;
    this.#kept.delete(id);
    return undefined;
  }

  /**
   * Keeps the answer of `task`, if it ended and no task event came since the
   * read that found it began (`events`: {@linkcode EndedAnswers.events} then).
   */
  keep(task: Task, answer: JsonAnswer, now: number, events: number): void {
    if (!isTerminal(task.status) || events !== this.#events) return;
    if (this.#kept.size >= ENDED_ANSWERS_MAX) {
      this.#kept.delete(this.#kept.keys().next().value!);
    }
    this.#kept.set(task.id, { answer, at: now });
    this.#newestAt = now;
  }

  /**
   * Drops the answer of a task that changed (an engine event about it). Once
   * every answer is too old they all go, and events cost no lookup again
   * until the next is kept.
   */
  observe(event: ThreadFlowEvent): void {
    if (!("task" in event)) return;
    this.#events++;
    if (this.#kept.size === 0) return;
    if (event.at - this.#newestAt >= ENDED_ANSWER_TTL_MS) this.#kept.clear();
    else this.#kept.delete(event.task.id);
  }

  /**
   * Drops every answer (retention deleted tasks, which emits no event); a
   * read under way keeps nothing, as after an event.
   */
  forgetAll(): void {
    this.#events++;
    this.#kept.clear();
  }

  /** Answers kept now. */
  get size(): number {
    return this.#kept.size;
  }
}
