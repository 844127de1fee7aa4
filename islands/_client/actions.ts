/**
 * Browser side: task actions shared by the table and the task page.
 *
 * @module
 */

import { api } from "./api.ts";
import type { Task } from "../../components/types.ts";

/** Statuses a task can be cancelled from. */
export const CANCELLABLE = new Set(["blocked", "scheduled", "queued", "running"]);
/** Statuses a task can be retried from. */
export const RETRYABLE = new Set(["failed", "cancelled"]);

/**
 * Cancels a task; resolves with the task as it is now.
 *
 * @example
 * ```ts ignore
 * const task = await cancelTask(id);
 * ```
 */
export async function cancelTask(id: string): Promise<Task> {
  const answer = await api<{ task: Task }>(`/api/tasks/${encodeURIComponent(id)}/cancel`, "POST");
  return answer.task;
}

/**
 * Puts a failed or cancelled task back in the queue.
 *
 * @example
 * ```ts ignore
 * const task = await retryTask(id);
 * ```
 */
export async function retryTask(id: string): Promise<Task> {
  const answer = await api<{ task: Task }>(`/api/tasks/${encodeURIComponent(id)}/retry`, "POST");
  return answer.task;
}
