/**
 * Zod schemas of the HTTP API: they validate requests and generate
 * `/api/openapi.json`. Messages are full sentences naming what was expected.
 * The schemas live by area (`task_schemas.ts`, `task_type_schemas.ts`,
 * `system_schemas.ts`, `schedule_schemas.ts`, built from `schema_fields.ts`);
 * this module holds the error answers and is the one place routes import
 * them from.
 *
 * @module
 */

import { z } from "@hono/zod-openapi";

export { describeValue, expected, integer, priority } from "./schema_fields.ts";
export {
  BatchInputSchema,
  BytesSubmitQuerySchema,
  DependentsQuerySchema,
  IdParamSchema,
  isPlainSubmitInput,
  ListQuerySchema,
  SubmitInputSchema,
  TaskAnswerSchema,
  TaskPageSchema,
  TasksAnswerSchema,
  TaskSchema,
  WaitQuerySchema,
} from "./task_schemas.ts";
export { StatsAnswerSchema, StatsSchema, WorkersAnswerSchema } from "./system_schemas.ts";
export {
  TaskTypeAnswerSchema,
  TaskTypesAnswerSchema,
  TaskTypeSchema,
  TypeLimitsInputSchema,
  TypeLimitsSchema,
  TypeNameParamSchema,
} from "./task_type_schemas.ts";

/** Every error answer. */
export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "validation_error" }),
    message: z.string().openapi({
      example: 'Priority must be an integer from 1 to 10: received "abc".',
    }),
    field: z.string().optional().openapi({ example: "priority" }),
  }),
}).openapi("Error");

/** The original endpoints' error answers: `{ "error": "<message>" }`. */
export const PlainErrorSchema = z.object({
  error: z.string().openapi({ example: "Priority must be an integer from 1 to 10: received 77." }),
}).openapi("PlainError");
