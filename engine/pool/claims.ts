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
 * How the pool claims the jobs one worker holds: shared cells for a thread
 * ({@linkcode ClaimCells}), books kept from messages for a process
 * ({@linkcode MessageClaims}).
 */
export interface Claims {
  /** Cells shared with the worker, or `null` when the worker cannot share memory. */
  readonly cells: Int32Array | null;
  /** Start times shared with the worker, or `null`. */
  readonly starts: Float64Array | null;
  /** Cells not holding a job. */
  readonly available: number;
  /** A free cell with a new sequence number, or `undefined` when all are taken. */
  allocate(): { cell: number; seq: number } | undefined;
  /** Whether the worker is known to have started the job. */
  started(cell: number, seq: number): boolean;
  /** When the worker started the job (ms since epoch); valid once {@linkcode Claims.started}. */
  startedAt(cell: number): number;
  /** Takes a job back unless the worker may have started it; `true` when taken. */
  takeBack(cell: number, seq: number): boolean;
  /** The pool noted the job in `cell` as started. */
  noted(cell: number): void;
  /** Frees the cell of a settled or taken-back job. */
  release(cell: number): void;
  /** The worker is gone: from now on, answer for what it may have done. */
  ended(): void;
}

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
export class ClaimCells implements Claims {
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

  /** Nothing to do: the cells tell. */
  noted(_cell: number): void {}

  /** Frees the cell of a settled or taken-back job. */
  release(cell: number): void {
    Atomics.store(this.cells, cell, 0);
    this.#free.push(cell);
  }

  /** Nothing to do: the cells still tell what the worker started. */
  ended(): void {}
}

/**
 * Claims of a worker process, which shares no memory with the pool: starts
 * are known from its reports only, and a job it holds cannot be taken back
 * while it lives (its outcome is on its way). Once the process is gone, the
 * earliest jobs sent and not noted started, up to `concurrency` in all with
 * the noted ones, may have been running (a process starts jobs in the order
 * it received them): they count as started; the later ones never ran and are
 * taken back.
 *
 * @example
 * ```ts
 * import { MessageClaims } from "./engine/pool/claims.ts";
 * const claims = new MessageClaims(4, 1);
 * const first = claims.allocate()!;
 * const second = claims.allocate()!;
 * claims.ended();
 * claims.takeBack(first.cell, first.seq); // false: it may have been running
 * claims.takeBack(second.cell, second.seq); // true: it waited behind the first
 * ```
 */
export class MessageClaims implements Claims {
  readonly cells = null;
  readonly starts = null;
  #seqs: Int32Array;
  #order: Float64Array;
  #noted: Uint8Array;
  #free: number[] = [];
  #seq = 0;
  #sent = 0;
  #concurrency: number;
  /** After `ended()`: cells whose jobs may have been running, with when that was learnt. */
  #maybeRunning: Set<number> | null = null;
  #endedAt = 0;

  constructor(capacity: number, concurrency: number) {
    this.#seqs = new Int32Array(capacity);
    this.#order = new Float64Array(capacity);
    this.#noted = new Uint8Array(capacity);
    this.#concurrency = concurrency;
    for (let cell = capacity - 1; cell >= 0; cell--) this.#free.push(cell);
  }

  get available(): number {
    return this.#free.length;
  }

  allocate(): { cell: number; seq: number } | undefined {
    const cell = this.#free.pop();
    if (cell === undefined) return undefined;
    this.#seq = this.#seq === MAX_SEQ ? 1 : this.#seq + 1;
    this.#seqs[cell] = this.#seq;
    this.#order[cell] = ++this.#sent;
    this.#noted[cell] = 0;
    return { cell, seq: this.#seq };
  }

  started(cell: number, seq: number): boolean {
    return this.#maybeRunning !== null && this.#seqs[cell] === seq &&
      this.#maybeRunning.has(cell);
  }

  startedAt(_cell: number): number {
    // Only the process knows; once a start is evident (progress, its death), "by now" is the bound.
    return this.#maybeRunning === null ? Date.now() : this.#endedAt;
  }

  takeBack(cell: number, seq: number): boolean {
    if (this.#maybeRunning === null || this.#seqs[cell] !== seq) return false;
    if (this.#maybeRunning.has(cell)) return false;
    this.#seqs[cell] = 0;
    return true;
  }

  noted(cell: number): void {
    this.#noted[cell] = 1;
  }

  release(cell: number): void {
    this.#seqs[cell] = 0;
    this.#noted[cell] = 0;
    this.#free.push(cell);
  }

  ended(): void {
    if (this.#maybeRunning !== null) return;
    this.#endedAt = Date.now();
    const unnoted: number[] = [];
    let noted = 0;
    for (let cell = 0; cell < this.#seqs.length; cell++) {
      if (this.#seqs[cell] === 0) continue;
      if (this.#noted[cell] === 1) noted++;
      else unnoted.push(cell);
    }
    unnoted.sort((a, b) => this.#order[a] - this.#order[b]);
    this.#maybeRunning = new Set(unnoted.slice(0, Math.max(0, this.#concurrency - noted)));
  }
}
