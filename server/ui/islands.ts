/**
 * Server side of islands: which components are islands, and how a page that
 * uses one is rendered. An island rendered on the server is wrapped in a
 * `<tf-island data-island="Name" data-i="3">` marker and its props are kept,
 * in render order, for the page to serialize; the browser hydrates each marker
 * with the same props (see `islands/_client/boot.ts`).
 *
 * Routes use islands as plain components (`<TaskTable tasks={page.tasks} />`),
 * as in Fresh: a Preact `options.vnode` hook swaps a registered component for
 * its marker wrapper while a page is rendered.
 *
 * @module
 */

import { type ComponentType, createContext, h, options, type VNode } from "preact";
import { useContext } from "preact/hooks";

/** One island as rendered into a page. */
export interface IslandRecord {
  name: string;
  props: Record<string, unknown>;
}

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

const wrappers = new Map<AnyComponent, AnyComponent>();
const names = new Map<AnyComponent, string>();
const InsideIsland = createContext(false);
let collected: IslandRecord[] | null = null;
let creatingInner = false;

const previousVnodeHook = options.vnode;
options.vnode = (vnode: VNode) => {
  if (!creatingInner && typeof vnode.type === "function") {
    const wrapper = wrappers.get(vnode.type as AnyComponent);
    if (wrapper) (vnode as { type: unknown }).type = wrapper;
  }
  previousVnodeHook?.(vnode);
};

/**
 * Marks `component` as the island `name`. Island names are the file names in
 * `islands/` (without `.tsx`), which are also the bundle names.
 *
 * @example
 * ```ts ignore
 * import { registerIsland } from "./islands.ts";
 * import TaskTable from "../../islands/TaskTable.tsx";
 * registerIsland("TaskTable", TaskTable);
 * ```
 */
export function registerIsland(name: string, component: AnyComponent): void {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
    throw new TypeError(
      `An island name must be PascalCase letters and digits: received "${name}".`,
    );
  }
  names.set(component, name);
  wrappers.set(component, islandWrapper(name, component));
}

/**
 * The registered name of `component`, or `undefined` when it is not an island.
 *
 * @example
 * ```ts ignore
 * islandName(TaskTable); // "TaskTable"
 * ```
 */
export function islandName(component: AnyComponent): string | undefined {
  return names.get(component);
}

/**
 * Runs `render` (a synchronous render to string) and returns its result with
 * the islands it rendered, in marker order.
 *
 * @example
 * ```ts ignore
 * import { renderToString } from "preact-render-to-string";
 * const { result, islands } = collectIslands(() => renderToString(page));
 * ```
 */
export function collectIslands<T>(render: () => T): { result: T; islands: IslandRecord[] } {
  const outer = collected;
  const islands: IslandRecord[] = [];
  collected = islands;
  try {
    return { result: render(), islands };
  } finally {
    collected = outer;
  }
}

function islandWrapper(name: string, component: AnyComponent): AnyComponent {
  function IslandMarker(props: Record<string, unknown>) {
    const nested = useContext(InsideIsland);
    creatingInner = true;
    let inner: VNode;
    try {
      inner = h(component, props);
    } finally {
      creatingInner = false;
    }
    // Inside another island, this one hydrates as part of its parent.
    if (nested || collected === null) return inner;
    if (props.children !== undefined) {
      throw new TypeError(
        `Island ${name} was given children: islands take only serializable props.`,
      );
    }
    const index = collected.push({ name, props }) - 1;
    return h(
      "tf-island",
      { "data-island": name, "data-i": String(index) },
      h(InsideIsland.Provider, { value: true }, inner),
    );
  }
  IslandMarker.displayName = `Island(${name})`;
  return IslandMarker;
}
