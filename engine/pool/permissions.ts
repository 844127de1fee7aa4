/**
 * Task permissions: what a task type module may declare with
 * `export const permissions = { … }`, checked and normalised. Task workers
 * run with exactly these Deno permissions, and none when a module declares
 * nothing.
 *
 * @module
 */

/** One permission: off, on for everything, or on for the listed paths, hosts or names. */
export type PermissionValue = boolean | string[];

/**
 * Permissions a task type asks for. Omitted kinds are off.
 *
 * @example
 * ```ts
 * // tasks/fetch_page.ts
 * export const permissions = { net: ["example.com:443"] };
 * export default async function (payload: { path: string }) {
 *   return (await fetch(`https://example.com${payload.path}`)).status;
 * }
 * ```
 */
export interface TaskPermissions {
  net?: PermissionValue;
  read?: PermissionValue;
  write?: PermissionValue;
  env?: PermissionValue;
  run?: PermissionValue;
  ffi?: PermissionValue;
  sys?: PermissionValue;
}

/** Every kind, in a fixed order (which also makes normalised sets comparable). */
export const PERMISSION_KINDS = ["net", "read", "write", "env", "run", "ffi", "sys"] as const;

/** {@linkcode TaskPermissions} with every kind present. */
export type NormalizedPermissions = Record<(typeof PERMISSION_KINDS)[number], PermissionValue>;

/** No permission at all: what built-in types and modules that declare nothing get. */
export const NO_PERMISSIONS: NormalizedPermissions = {
  net: false,
  read: false,
  write: false,
  env: false,
  run: false,
  ffi: false,
  sys: false,
};

/**
 * Checks a module's `permissions` export; throws an `Error` whose message
 * says what is wrong (the caller names the module).
 */
export function normalizePermissions(declared: unknown): NormalizedPermissions {
  if (declared === undefined || declared === null) return NO_PERMISSIONS;
  if (typeof declared !== "object" || Array.isArray(declared)) {
    throw new Error('its permissions export must be an object such as { net: ["host:443"] }');
  }
  const normalized = { ...NO_PERMISSIONS };
  for (const [kind, value] of Object.entries(declared)) {
    if (!(PERMISSION_KINDS as readonly string[]).includes(kind)) {
      throw new Error(
        `its permissions name ${JSON.stringify(kind)}, which is not one of ${
          PERMISSION_KINDS.join(", ")
        }`,
      );
    }
    const valid = typeof value === "boolean" ||
      (Array.isArray(value) && value.every((item) => typeof item === "string" && item !== ""));
    if (!valid) {
      throw new Error(
        `its permission ${kind} must be true, false or a list of non-empty strings`,
      );
    }
    normalized[kind as keyof NormalizedPermissions] = Array.isArray(value)
      ? [...value].sort()
      : value;
  }
  return normalized;
}

/** A stable key: equal permission sets share workers. */
export function permissionsKey(permissions: NormalizedPermissions): string {
  return JSON.stringify(PERMISSION_KINDS.map((kind) => permissions[kind]));
}

/**
 * The permissions in `permissions` that this process was not granted itself
 * (a worker cannot be given more than its parent), as readable strings.
 */
export function missingInParent(permissions: NormalizedPermissions): string[] {
  const missing: string[] = [];
  for (const kind of PERMISSION_KINDS) {
    const value = permissions[kind];
    if (value === false) continue;
    const items = value === true ? [undefined] : value;
    for (const item of items) {
      const status = Deno.permissions.querySync(descriptor(kind, item));
      if (status.state !== "granted") missing.push(item === undefined ? kind : `${kind}=${item}`);
    }
  }
  return missing;
}

function descriptor(
  kind: (typeof PERMISSION_KINDS)[number],
  item?: string,
): Deno.PermissionDescriptor {
  switch (kind) {
    case "net":
      return { name: "net", host: item };
    case "read":
    case "write":
    case "ffi":
      return { name: kind, path: item };
    case "env":
      return { name: "env", variable: item };
    case "run":
      return { name: "run", command: item };
    case "sys":
      return { name: "sys", kind: item as Deno.SysPermissionDescriptor["kind"] };
  }
}
