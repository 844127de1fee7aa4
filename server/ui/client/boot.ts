/**
 * Browser side: the island runtime. Finds the `<tf-island>` markers the server
 * rendered, loads each island's bundle (named in the page's island data) and
 * hydrates it with the props the server rendered it with.
 *
 * @module
 */

import { type ComponentType, h, hydrate } from "preact";
import { deserializeProps } from "../shared/props.ts";

/** What the server writes into `<script type="application/json" id="tf-islands">`. */
export interface IslandData {
  /** Bundle URL of each island on the page, by island name. */
  urls: Record<string, string>;
  /** Props of each marker, by its `data-i`. */
  props: Record<string, unknown>[];
}

/**
 * Reads the page's island data; `null` when the page has no islands.
 *
 * @example
 * ```ts ignore
 * const data = readIslandData(document.getElementById("tf-islands")?.textContent);
 * ```
 */
export function readIslandData(text: string | null | undefined): IslandData | null {
  if (!text) return null;
  return deserializeProps(text) as IslandData;
}

/**
 * Hydrates every island marker under `root`. Resolves when all are hydrated.
 *
 * @example
 * ```ts ignore
 * await bootIslands(document);
 * ```
 */
export async function bootIslands(root: ParentNode = document): Promise<void> {
  const data = readIslandData(root.querySelector("#tf-islands")?.textContent);
  if (!data) return;
  const markers = [...root.querySelectorAll<HTMLElement>("tf-island[data-island]")];
  const modules = new Map<string, Promise<{ default: ComponentType<Record<string, unknown>> }>>();
  await Promise.all(markers.map(async (marker) => {
    const name = marker.dataset.island!;
    const url = data.urls[name];
    if (!url) throw new Error(`No bundle for island ${name}: run \`deno task build\`.`);
    if (!modules.has(name)) modules.set(name, import(url));
    const module = await modules.get(name)!;
    const props = data.props[Number(marker.dataset.i)] ?? {};
    hydrate(h(module.default, props), marker);
  }));
}

if (typeof document !== "undefined") {
  bootIslands().catch((error) => console.error("ThreadFlow: islands failed to start:", error));
}
