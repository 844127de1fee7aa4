/**
 * Browser side: calls to the HTTP API, with the token kept in session storage.
 *
 * @module
 */

import { signal } from "@preact/signals";

const TOKEN_KEY = "threadflow.token";
/** Cookie the server reads to render pages when a token is required. */
export const TOKEN_COOKIE = "tf_token";

/** `true` once the server has refused the token we have (or that we have none). */
export const authRequired = signal(false);

/**
 * An error answer of the HTTP API.
 *
 * @example
 * ```ts ignore
 * try {
 *   await api("/api/tasks", "POST", { type: "nope" });
 * } catch (error) {
 *   if (error instanceof ApiError) console.log(error.code, error.field);
 * }
 * ```
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * The token kept for this tab (or, in a new tab, this browser session), or `null`.
 *
 * @example
 * ```ts ignore
 * const token = getToken(); // "s3cret" or null
 * ```
 */
export function getToken(): string | null {
  let token: string | null = null;
  try {
    token = sessionStorage.getItem(TOKEN_KEY);
  } catch {
    // Storage disabled: fall back to the session cookie.
  }
  if (token) return token;
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === TOKEN_COOKIE && rest.length) {
      try {
        return decodeURIComponent(rest.join("="));
      } catch {
        return null;
      }
    }
  }
  return null;
}

/**
 * Keeps `token` for this tab (session storage) and in a session cookie, so the
 * server can render pages with data on the next load.
 *
 * @example
 * ```ts ignore
 * setToken("s3cret");
 * ```
 */
export function setToken(token: string): void {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage can be disabled; the cookie still carries the token for this session.
  }
  document.cookie = `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; SameSite=Strict`;
  authRequired.value = false;
}

/**
 * Calls the HTTP API and returns the parsed JSON answer; throws {@linkcode ApiError}
 * for an error answer (with the server's `code` and `field`).
 *
 * @example
 * ```ts ignore
 * const { stats } = await api<{ stats: DashboardStats }>("/api/stats");
 * ```
 */
export async function api<T>(path: string, method = "GET", body?: unknown): Promise<T> {
  return (await apiAnswer<T>(path, method, body)).data;
}

/**
 * Like {@linkcode api}, with the HTTP status of the answer (a submit answers 200
 * rather than 201 when its idempotency key was seen before).
 *
 * @example
 * ```ts ignore
 * const { status, data } = await apiAnswer<{ task: Task }>("/api/tasks", "POST", input);
 * ```
 */
export async function apiAnswer<T>(
  path: string,
  method = "GET",
  body?: unknown,
): Promise<{ status: number; data: T }> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401) authRequired.value = true;
    const error = (data as { error?: { code?: string; message?: string; field?: string } })
      ?.error;
    throw new ApiError(
      response.status,
      error?.code ?? "http_error",
      error?.message ?? `The server answered ${response.status} ${response.statusText}.`,
      error?.field,
    );
  }
  return { status: response.status, data: data as T };
}
