/**
 * Claim cells: one `Int32Array` in shared memory per worker slot, one cell
 * per job the worker holds. The pool writes a job's sequence number into its
 * cell when it sends the job; before starting a job the worker swaps `seq`
 * for `-seq`, and the pool takes a job back by swapping `seq` for `0`. Both
 * use `Atomics.compareExchange`, so exactly one side wins, even while the
 * worker is stuck in a long synchronous handler and reads no messages.
 *
 * A cell is free again once its job is settled or taken back: a worker that
 * later reaches a taken-back job finds another sequence number (or 0) there
 * and skips it.
 *
 * @module
 */

/** Largest sequence number before it wraps back to 1. */
const MAX_SEQ = 0x7fff_ffff;

/**
 * The claim cells of one slot, and which of them are free.
 *
 * @example
 * ```ts
 * import { ClaimCells } from "./engine/pool/claims.ts";
 * const claims = new ClaimCells(4);
 * const { cell, seq } = claims.allocate()!;
 * claims.takeBack(cell, seq); // true: the worker had not started it
 * claims.release(cell);
 * ```
 */
export class ClaimCells {
  /** Shared with the worker. */
  readonly cells: Int32Array;
  /** Start times by cell, written by the worker just before it claims. */
  readonly starts: Float64Array;
  #free: number[] = [];
  #seq = 0;

  constructor(capacity: number) {
    this.cells = new Int32Array(new SharedArrayBuffer(capacity * 4));
    this.starts = new Float64Array(new SharedArrayBuffer(capacity * 8));
    for (let cell = capacity - 1; cell >= 0; cell--) this.#free.push(cell);
  }

  /** Cells not holding a job. */
  get available(): number {
    return this.#free.length;
  }

  /** A free cell marked pending with a new sequence number, or `undefined` when all are taken. */
  allocate(): { cell: number; seq: number } | undefined {
    const cell = this.#free.pop();
    if (cell === undefined) return undefined;
    this.#seq = this.#seq === MAX_SEQ ? 1 : this.#seq + 1;
    Atomics.store(this.cells, cell, this.#seq);
    return { cell, seq: this.#seq };
  }

  /** Whether the worker has claimed (started) the job. */
  started(cell: number, seq: number): boolean {
    return Atomics.load(this.cells, cell) === -seq;
  }

  /** When the worker started the job (ms since epoch); valid once {@linkcode started}. */
  startedAt(cell: number): number {
    return this.starts[cell];
  }

  /** Takes a job back unless the worker started it; `true` when taken. */
  takeBack(cell: number, seq: number): boolean {
    return Atomics.compareExchange(this.cells, cell, seq, 0) === seq;
  }

  /** Frees the cell of a settled or taken-back job. */
  release(cell: number): void {
    Atomics.store(this.cells, cell, 0);
    this.#free.push(cell);
  }
}
