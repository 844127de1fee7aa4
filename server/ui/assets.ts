/**
 * Files the dashboard serves: the app's `static/` (CSS, icons) and the island
 * bundles in its `dist/islands/`, written by `deno task build`. Both are found
 * from the app's root URL (the manifest's `baseUrl`), so this works from any
 * working directory and inside a `deno compile` binary (with
 * `--include static --include dist/islands`).
 *
 * @module
 */

/** Where `deno task build` writes the island bundles, under the app's root. */
export const ISLANDS_DIR = "dist/islands/";
/** The app's static files, under its root. */
export const STATIC_DIR = "static/";

/** `Cache-Control` of files whose URL changes with their content. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** What `scripts/build.ts` writes to `dist/islands/manifest.json`. */
export interface IslandManifest {
  /** Bundle file of each island, by island name, e.g. `TaskTable-3f2a9c1b.js`. */
  islands: Record<string, string>;
  /** Bundle file of the island runtime. */
  boot: string;
  /**
   * Other entries the app bundles (a worker script, say), by name; each page
   * names them in `<meta name="tf-entry:NAME" content="URL">`.
   */
  entries: Record<string, string>;
  /** The chunks each file imports statically, for `modulepreload`. */
  imports: Record<string, string[]>;
  /** Size in bytes of every file written. */
  sizes: Record<string, number>;
}

/** A file held in memory, with its hash and type. */
export interface LoadedFile {
  bytes: Uint8Array<ArrayBuffer>;
  /** First 12 hex digits of the SHA-256 of the bytes. */
  hash: string;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  txt: "text/plain; charset=utf-8",
  woff2: "font/woff2",
};

/**
 * The `Content-Type` for a file name, by its extension.
 *
 * @example
 * ```ts ignore
 * contentTypeOf("styles.css"); // "text/css; charset=utf-8"
 * ```
 */
export function contentTypeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? "application/octet-stream";
}

/**
 * First 12 hex digits of the SHA-256 of `bytes`.
 *
 * @example
 * ```ts ignore
 * await contentHash(new TextEncoder().encode("hi")); // 12 hex digits
 * ```
 */
export async function contentHash(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A safe file name inside a served folder: no separators, no dot files.
 *
 * @example
 * ```ts ignore
 * isSafeName("../deno.json"); // false
 * ```
 */
export function isSafeName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) && !name.includes("..");
}

/**
 * The files of `static/`, read once and kept in memory with their hashes.
 *
 * @example
 * ```ts ignore
 * const files = await loadStaticFiles(DEFAULT_STATIC_DIR);
 * const css = files.get("styles.css");
 * ```
 */
export async function loadStaticFiles(dir: URL): Promise<Map<string, LoadedFile>> {
  const files = new Map<string, LoadedFile>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !isSafeName(entry.name)) continue;
    const bytes = await Deno.readFile(new URL(entry.name, dir));
    files.set(entry.name, {
      bytes,
      hash: await contentHash(bytes),
      contentType: contentTypeOf(entry.name),
    });
  }
  return files;
}

/**
 * The island manifest, or `null` when the bundles are not built.
 *
 * @example
 * ```ts ignore
 * const manifest = await readIslandManifest(DEFAULT_ISLANDS_DIR);
 * ```
 */
export async function readIslandManifest(dir: URL): Promise<IslandManifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(new URL("manifest.json", dir)));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
