/**
 * A task's attempts for the pages and islands: the engine's own
 * `attemptTimeline` (a pure function of the task), imported from its model
 * file so a browser bundle takes that function alone, not the engine.
 *
 * @module
 */

export { attemptTimeline } from "../engine/model/task.ts";
