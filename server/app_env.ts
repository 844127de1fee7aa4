/**
 * The Hono environment shared by the app and its middlewares.
 *
 * @module
 */

/** Per-request values middlewares set for later handlers. */
export interface AppEnv {
  Variables: {
    /** The request's id, echoed in the `X-Request-Id` header. */
    requestId: string;
  };
}
