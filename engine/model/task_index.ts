/**
 * Tasks kept in id order and found by id without hashing the id.
 *
 * Why not a `Map`: the first time V8 hashes a fresh string costs 0.2–0.7 µs
 * (measured in Deno 2.9), more than everything else a no-op task costs the
 * store, and a `Map` of a million tasks misses the cache on every insert.
 * Task ids are UUIDv7, created in ascending order, so a new task is almost
 * always appended at the end, and a lookup is a binary search by plain
 * string comparison that starts at the most recently used place: tasks end
 * in about the order they were created, so the next one looked up is usually
 * the one after it.
 *
 * @module
 */

/** The least an indexed item has: an id. */
export interface HasId {
  readonly id: string;
}

/** Holes (deleted items) kept before the arrays are compacted. */
const MIN_HOLES_TO_COMPACT = 4096;

/**
 * Items ordered by id ascending, with `Map`-like `get`/`has`/`delete`.
 * Adding an id below the highest one (an id from elsewhere, or an old task
 * coming back) inserts it in place, at the cost of moving the ones above.
 *
 * @example
 * ```ts
 * import { TaskIndex } from "./engine/model/task_index.ts";
 * const index = new TaskIndex<{ id: string }>();
 * index.add({ id: "b" });
 * index.add({ id: "a" });
 * index.get("a"); // { id: "a" }
 * [...index.values()].map((item) => item.id); // ["a", "b"]
 * ```
 */
export class TaskIndex<T extends HasId> {
  /** Ids ascending; a deleted item's id stays until compaction so searches keep working. */
  #ids: string[] = [];
  /** The item of each id, or `undefined` once deleted. */
  #items: Array<T | undefined> = [];
  #size = 0;
  /** Where the last lookup landed: the next one usually lands on it or just after. */
  #hint = 0;

  /** How many items are held. */
  get size(): number {
    return this.#size;
  }

  /** Adds `item`, or replaces the item held with its id. */
  add(item: T): void {
    const ids = this.#ids;
    const last = ids.length - 1;
    if (last < 0 || item.id > ids[last]) {
      ids.push(item.id);
      this.#items.push(item);
      this.#size++;
      return;
    }
    const at = this.#lowerBound(item.id);
    if (ids[at] === item.id) {
      if (this.#items[at] === undefined) this.#size++;
      this.#items[at] = item;
      return;
    }
    ids.splice(at, 0, item.id);
    this.#items.splice(at, 0, item);
    this.#size++;
  }

  /** The item with this id, or `undefined`. */
  get(id: string): T | undefined {
    const at = this.#find(id);
    return at < 0 ? undefined : this.#items[at];
  }

  /** Whether an item with this id is held. */
  has(id: string): boolean {
    const at = this.#find(id);
    return at >= 0 && this.#items[at] !== undefined;
  }

  /** Removes the item with this id; `false` when none was held. */
  delete(id: string): boolean {
    const at = this.#find(id);
    if (at < 0 || this.#items[at] === undefined) return false;
    this.#items[at] = undefined;
    this.#size--;
    const holes = this.#ids.length - this.#size;
    if (holes >= MIN_HOLES_TO_COMPACT && holes * 2 > this.#ids.length) this.#compact();
    return true;
  }

  /** The items, ids ascending. */
  *values(): IterableIterator<T> {
    for (const item of this.#items) if (item !== undefined) yield item;
  }

  /**
   * Walks the items from the highest id down, starting below `before` when
   * given, until `visit` returns `false`.
   */
  descending(visit: (item: T) => boolean, before?: string): void {
    const items = this.#items;
    const start = before === undefined ? items.length - 1 : this.#lowerBound(before) - 1;
    for (let i = start; i >= 0; i--) {
      const item = items[i];
      if (item !== undefined && !visit(item)) return;
    }
  }

  /** Index of `id` in `#ids`, or -1 when absent. */
  #find(id: string): number {
    const ids = this.#ids;
    const hint = this.#hint;
    // Ids are compared as strings only when the same string object is not already there.
    if (ids[hint] === id) return hint;
    if (ids[hint + 1] === id) return this.#hint = hint + 1;
    const at = this.#lowerBound(id);
    if (ids[at] !== id) return -1;
    return this.#hint = at;
  }

  /** The first index whose id is not below `id` (`#ids.length` when all are). */
  #lowerBound(id: string): number {
    const ids = this.#ids;
    let low = 0;
    let high = ids.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (ids[middle] < id) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #compact(): void {
    // Sized once: pushing would grow each array several times over.
    const ids = new Array<string>(this.#size);
    const items = new Array<T>(this.#size);
    let at = 0;
    for (const item of this.#items) {
      if (item === undefined) continue;
      ids[at] = item.id;
      items[at++] = item;
    }
    this.#ids = ids;
    this.#items = items;
    this.#hint = 0;
  }
}
