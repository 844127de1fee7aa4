/**
 * Writes the service's OpenAPI document, as `GET /api/openapi.json` serves
 * it, to a file (default `dist/openapi.json`), for linters and client
 * generators: `deno task openapi [PATH]`. `deno task lint:openapi` writes it and
 * runs `redocly lint` (recommended rules) on it.
 *
 * @module
 */

import { ThreadFlow } from "../mod.ts";
import { createApp } from "../server/app.ts";
import { parseConfig } from "../server/config.ts";
import { silentLogger } from "../server/logger.ts";

/** Where the document goes unless a path is given. */
export const DEFAULT_OPENAPI_PATH = "dist/openapi.json";

/**
 * The OpenAPI document of a service built with default settings, with
 * `servers` naming `origin`.
 *
 * @example
 * ```ts ignore
 * import { openApiDocument } from "./scripts/openapi.ts";
 * const document = await openApiDocument("http://127.0.0.1:8081");
 * ```
 */
export async function openApiDocument(origin = "http://127.0.0.1:8081"): Promise<unknown> {
  const parsed = parseConfig(["--store", "memory"], {});
  if (parsed.help) throw new Error("Unreachable: no --help was given.");
  const engine = await ThreadFlow.start({ workers: 1 });
  try {
    const service = createApp({ engine, config: parsed.config, logger: silentLogger() });
    const response = await service.fetch(new Request(`${origin}/api/openapi.json`));
    service.closeWebSockets();
    return await response.json();
  } finally {
    await engine.close({ drainMs: 0 });
  }
}

if (import.meta.main) {
  const path = Deno.args[0] ?? DEFAULT_OPENAPI_PATH;
  const folder = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(await openApiDocument(), null, 2) + "\n");
  console.log(`Wrote ${path}`);
}
