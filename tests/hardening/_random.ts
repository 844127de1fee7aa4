/**
 * A seeded random source for the fuzz test, so a failing run can be
 * replayed with `THREADFLOW_SEED=<seed>`.
 *
 * @module
 */

/** mulberry32: small, fast, good enough to pick test inputs. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A short random string, sometimes with odd characters. */
  string(maxLength = 12): string {
    const alphabets = [
      "abcdefghijklmnopqrstuvwxyz",
      "0123456789",
      "\u0000\u0001\u001f\"\\/<>&'%{}[]$.\n\r\t ",
      "é漢字😀\u202e\ufeff\ud800",
    ];
    let out = "";
    const length = this.int(maxLength + 1);
    for (let i = 0; i < length; i++) {
      const alphabet = this.pick(alphabets);
      out += [...alphabet][this.int([...alphabet].length)];
    }
    return out;
  }
}

/** Seed from `THREADFLOW_SEED`, else a random one. */
export function seedFromEnv(): number {
  const raw = Deno.env.get("THREADFLOW_SEED");
  if (raw !== undefined && raw !== "") {
    const seed = Number(raw);
    if (!Number.isInteger(seed)) {
      throw new Error(`THREADFLOW_SEED must be an integer: received "${raw}".`);
    }
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}
