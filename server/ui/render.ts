/**
 * Renders a route's page to a full HTML document: the page inside the app's
 * shell, then the island data and the runtime script for the islands the page
 * used.
 *
 * @module
 */

import { type ComponentType, h, type VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import { serializeProps } from "./shared/props.ts";
import { collectIslands } from "./islands.ts";
import type { IslandManifest } from "./assets.ts";
import type { AppProps } from "./types.ts";

/** URL prefix of island bundles. */
export const ISLANDS_PREFIX = "/islands/";

/** Options of {@linkcode renderDocument}. */
export interface RenderOptions<S> {
  /** The shell the page renders in (`routes/_app.tsx`). */
  app: ComponentType<AppProps<S>>;
  /** The app's state, handed to the shell. */
  state: S;
  title: string;
  url: URL;
  locked: boolean;
  /** URL of a file in `static/`, with its content hash. */
  asset: (name: string) => string;
  /** `null` when the bundles are not built: the page is then static. */
  manifest: IslandManifest | null;
}

/**
 * The HTML document for `page`.
 *
 * @example
 * ```ts ignore
 * const html = renderDocument(h(Overview, { data, url }), { app: App, title: "Overview", ... });
 * ```
 */
// deno-lint-ignore no-explicit-any
export function renderDocument<S>(page: VNode<any>, options: RenderOptions<S>): string {
  const tree = h(options.app, {
    title: options.title,
    url: options.url,
    asset: options.asset,
    locked: options.locked,
    state: options.state,
  }, page);
  const { result, islands } = collectIslands(() => renderToString(tree));
  let html = `<!DOCTYPE html>${result}`;
  if (islands.length === 0) return html;
  const manifest = options.manifest;
  if (!manifest) {
    return insertBefore(
      html,
      "</body>",
      "<!-- Islands are not built: run `deno task build` to make this page live. -->",
    );
  }
  const names = [...new Set(islands.map((island) => island.name))];
  const urls: Record<string, string> = {};
  for (const name of names) {
    const file = manifest.islands[name];
    if (file) urls[name] = ISLANDS_PREFIX + file;
  }
  const preload = new Set<string>();
  const addWithImports = (file: string) => {
    if (preload.has(file)) return;
    preload.add(file);
    for (const dep of manifest.imports[file] ?? []) addWithImports(dep);
  };
  addWithImports(manifest.boot);
  for (const name of names) if (manifest.islands[name]) addWithImports(manifest.islands[name]);
  const links = [...preload]
    .map((file) => `<link rel="modulepreload" href="${ISLANDS_PREFIX}${file}">`)
    .join("");
  const data = serializeProps({ urls, props: islands.map((island) => island.props) });
  // Extra entries (a worker script, say) are named in the head for the islands to find.
  const meta = Object.entries(manifest.entries ?? {})
    .map(([name, file]) => `<meta name="tf-entry:${name}" content="${ISLANDS_PREFIX}${file}">`)
    .join("");
  html = insertBefore(html, "</head>", meta + links);
  return insertBefore(
    html,
    "</body>",
    `<script type="application/json" id="tf-islands">${data}</script>` +
      `<script type="module" src="${ISLANDS_PREFIX}${manifest.boot}"></script>`,
  );
}

function insertBefore(html: string, marker: string, text: string): string {
  const at = html.lastIndexOf(marker);
  return at === -1 ? html + text : html.slice(0, at) + text + html.slice(at);
}
