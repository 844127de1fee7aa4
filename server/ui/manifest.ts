/**
 * The app's manifest, as `deno task build` writes it: the framework's
 * conventions for which files are routes and islands, applied to an app's
 * folders, and the TypeScript module (`dashboard.gen.ts`) that imports them
 * all and hands them to {@linkcode registerUi}. This file reads folder
 * listings only; it imports nothing of the app.
 *
 * @module
 */

/** What an app's folders hold, by the framework's conventions. */
export interface AppFiles {
  /** Route files under `routes/`, e.g. `tasks/[id].tsx`; files starting with `_` are not routes. */
  routes: string[];
  /** Island names: the `.tsx` files directly in `islands/` not starting with `_`. */
  islands: string[];
}

/**
 * Lists the routes and islands of the app rooted at `root`, sorted.
 *
 * @example
 * ```ts ignore
 * const files = await scanApp(new URL("../../", import.meta.url));
 * files.islands; // ["ConnectionStatus", "LiveCounters", ...]
 * ```
 */
export async function scanApp(root: URL): Promise<AppFiles> {
  const routes: string[] = [];
  async function walk(dir: URL, prefix: string): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (/\.tsx?$/.test(entry.name)) routes.push(prefix + entry.name);
    }
  }
  await walk(new URL("routes/", root), "");
  const islands: string[] = [];
  for await (const entry of Deno.readDir(new URL("islands/", root))) {
    if (entry.isFile && entry.name.endsWith(".tsx") && !entry.name.startsWith("_")) {
      islands.push(entry.name.slice(0, -4));
    }
  }
  return { routes: routes.sort(), islands: islands.sort() };
}

/**
 * The source of the generated manifest module for `files`, formatted as
 * `deno fmt` would leave it. `frameworkPath` is the framework's `mod.ts`
 * relative to the manifest; `stateModule` and `stateType` name the app's
 * state type.
 *
 * @example
 * ```ts ignore
 * const source = manifestSource(files, {
 *   frameworkPath: "./server/ui/mod.ts",
 *   stateModule: "./server/dashboard_state.ts",
 *   stateType: "DashboardState",
 * });
 * ```
 */
export function manifestSource(
  files: AppFiles,
  options: { frameworkPath: string; stateModule: string; stateType: string },
): string {
  const lines = [
    "// This file is written by `deno task build` (scripts/build.ts): do not edit it.",
    "// It hands the dashboard framework (server/ui/) every route and island of the app.",
    "",
    `import type { UiManifest } from "${options.frameworkPath}";`,
    `import type { ${options.stateType} } from "${options.stateModule}";`,
    `import $app from "./routes/_app.tsx";`,
    `import $error from "./routes/_error.tsx";`,
  ];
  files.routes.forEach((file, i) => lines.push(`import * as $route${i} from "./routes/${file}";`));
  files.islands.forEach((name, i) =>
    lines.push(`import $island${i} from "./islands/${name}.tsx";`)
  );
  lines.push(
    "",
    `const manifest: UiManifest<${options.stateType}> = {`,
    `  baseUrl: new URL("./", import.meta.url),`,
    "  app: $app,",
    "  error: $error,",
    "  routes: {",
    ...files.routes.map((file, i) => `    "${file}": $route${i},`),
    "  },",
    "  islands: {",
    ...files.islands.map((name, i) => `    ${name}: $island${i},`),
    "  },",
    "};",
    "",
    "export default manifest;",
    "",
  );
  return lines.join("\n");
}
