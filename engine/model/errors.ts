/**
 * Errors the engine throws. Each carries a stable `code` that the HTTP and
 * WebSocket layers map to an answer, and `field` where one input was at fault.
 *
 * @module
 */

/** Stable machine-readable error codes. */
export type ThreadFlowErrorCode =
  | "validation_error"
  | "unknown_task_type"
  | "payload_too_large"
  | "queue_full"
  | "task_not_found"
  | "task_conflict"
  | "closed"
  | "store_unavailable"
  | "invalid_option"
  | "schedule_not_found"
  | "schedule_exists";

/** Base class of every error the engine throws on purpose. */
export class ThreadFlowError extends Error {
  readonly code: ThreadFlowErrorCode;
  /** The input field at fault, e.g. `priority` or `tasks[3].payload`. */
  readonly field?: string;

  constructor(code: ThreadFlowErrorCode, message: string, field?: string) {
    super(message);
    this.name = "ThreadFlowError";
    this.code = code;
    this.field = field;
  }
}

/** An input failed validation; `field` names it. */
export class ValidationError extends ThreadFlowError {
  constructor(message: string, field?: string) {
    super("validation_error", message, field);
    this.name = "ValidationError";
  }
}

/** A submit named a task type the engine does not have. */
export class UnknownTaskTypeError extends ThreadFlowError {
  constructor(type: string, field = "type") {
    super("unknown_task_type", `Unknown task type: received ${JSON.stringify(type)}.`, field);
    this.name = "UnknownTaskTypeError";
  }
}

/** No schedule has this name. */
export class ScheduleNotFoundError extends ThreadFlowError {
  constructor(name: string) {
    super(
      "schedule_not_found",
      `No schedule is named ${JSON.stringify(name)}: GET /api/schedules lists them.`,
      "name",
    );
    this.name = "ScheduleNotFoundError";
  }
}

/** A schedule with this name exists already. */
export class ScheduleExistsError extends ThreadFlowError {
  constructor(name: string) {
    super(
      "schedule_exists",
      `A schedule named ${JSON.stringify(name)} exists already: change it with PATCH, or ` +
        "delete it first.",
      "name",
    );
    this.name = "ScheduleExistsError";
  }
}

/** A payload was larger than `maxPayloadBytes`. */
export class PayloadTooLargeError extends ThreadFlowError {
  constructor(size: number, limit: number, field = "payload") {
    super(
      "payload_too_large",
      `Payload must be at most ${limit} bytes: received ${size} bytes.`,
      field,
    );
    this.name = "PayloadTooLargeError";
  }
}

/** The queue holds `maxQueued` tasks already. */
export class QueueFullError extends ThreadFlowError {
  /** Suggested wait before trying again, in milliseconds. */
  readonly retryAfterMs: number;
  constructor(limit: number, retryAfterMs = 1000) {
    super("queue_full", `The queue is full: it holds its limit of ${limit} tasks.`);
    this.name = "QueueFullError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** No task has that id. */
export class TaskNotFoundError extends ThreadFlowError {
  constructor(id: string) {
    super("task_not_found", `No task has the id ${JSON.stringify(id)}.`, "id");
    this.name = "TaskNotFoundError";
  }
}

/** The task is not in a status that allows the operation (e.g. cancelling a finished task). */
export class TaskConflictError extends ThreadFlowError {
  constructor(message: string) {
    super("task_conflict", message);
    this.name = "TaskConflictError";
  }
}

/** The engine is closing or closed and accepts no new work. */
export class ClosedError extends ThreadFlowError {
  constructor() {
    super("closed", "ThreadFlow is shutting down and accepts no new tasks.");
    this.name = "ClosedError";
  }
}

/** The store cannot be reached right now. */
export class StoreUnavailableError extends ThreadFlowError {
  constructor(message: string) {
    super("store_unavailable", message);
    this.name = "StoreUnavailableError";
  }
}

/** An engine option is invalid; `field` names it. */
export class InvalidOptionError extends ThreadFlowError {
  constructor(message: string, field: string) {
    super("invalid_option", message, field);
    this.name = "InvalidOptionError";
  }
}

/** A task ran past its `timeoutMs` (recorded on the task, not thrown). */
export class TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`The task ran past its timeout of ${timeoutMs} ms; its worker was replaced.`);
    this.name = "TimeoutError";
  }
}

/** A worker died while running the task (recorded on the task, not thrown). */
export class WorkerExitedError extends Error {
  constructor(reason: string) {
    super(`The worker running the task exited: ${reason}.`);
    this.name = "WorkerExitedError";
  }
}
