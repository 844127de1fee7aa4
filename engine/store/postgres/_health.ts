/**
 * Private to the PostgreSQL store: whether the database answers. A query
 * that fails for want of a connection marks the store unhealthy; while
 * unhealthy it pings with backoff (250 ms doubling to 5 s) until the
 * database answers again.
 *
 * @module
 */

import { StoreUnavailableError } from "../../model/errors.ts";
import { describe, isConnectionError } from "./_rows.ts";

const FIRST_PROBE_MS = 250;
const MAX_BACKOFF_MS = 5000;

/** The health of one store's connection pool. */
export class ConnectionHealth {
  #storeName: string;
  #ping: () => Promise<unknown>;
  #healthy = true;
  #listeners = new Set<(healthy: boolean) => void>();
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  #probeDelayMs = FIRST_PROBE_MS;
  #closed = false;

  /** `ping` runs a trivial query (through {@linkcode ConnectionHealth.run}). */
  constructor(storeName: string, ping: () => Promise<unknown>) {
    this.#storeName = storeName;
    this.#ping = ping;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** The current wait between probes (also a sensible wait before retrying a write). */
  get backoffMs(): number {
    return this.#probeDelayMs;
  }

  /** Calls `listener` whenever `healthy` changes; returns the unsubscribe function. */
  onChange(listener: (healthy: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs a query; a lost connection marks the store unhealthy and becomes StoreUnavailableError. */
  async run<T>(query: () => Promise<T>): Promise<T> {
    try {
      const value = await query();
      if (!this.#healthy) this.#set(true);
      return value;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      this.#set(false);
      throw new StoreUnavailableError(
        `The PostgreSQL store ${this.#storeName} is unreachable: ${describe(error)}.`,
      );
    }
  }

  /** Stops probing. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  #set(healthy: boolean): void {
    if (this.#healthy === healthy) return;
    this.#healthy = healthy;
    for (const listener of this.#listeners) listener(healthy);
    if (!healthy) {
      this.#probeDelayMs = FIRST_PROBE_MS;
      this.#scheduleProbe();
    } else {
      clearTimeout(this.#probeTimer);
      this.#probeTimer = undefined;
    }
  }

  #scheduleProbe(): void {
    if (this.#closed || this.#probeTimer !== undefined) return;
    this.#probeTimer = setTimeout(async () => {
      this.#probeTimer = undefined;
      try {
        await this.#ping();
      } catch {
        this.#probeDelayMs = Math.min(this.#probeDelayMs * 2, MAX_BACKOFF_MS);
        if (!this.#healthy) this.#scheduleProbe();
      }
    }, this.#probeDelayMs);
  }
}
