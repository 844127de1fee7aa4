/**
 * Private to the SQLite store: its write calls on the way to the write side
 * and back. Each event-loop turn's calls go as one batch (group commit), one
 * batch at a time, and the engine's record of task changes waits briefly for
 * the next call a caller waits on; a call settles once its batch is durable,
 * with its own outcome. Reads wait here for the writes called before them to
 * commit.
 *
 * @module
 */

import { StoreUnavailableError } from "../../model/errors.ts";
import type { StatusCounts } from "../../model/task.ts";
import { GroupCommit } from "../group_commit.ts";
import type { WriteChannel, WriteListener } from "./_write_thread.ts";
import type { WriteOutcome, WriteReport, WriteRequest } from "./_writes.ts";

/**
 * Longest the engine's record of task changes (a `write` call, which no
 * caller waits for) is held for the next call a caller waits for, so that
 * both commit in one transaction.
 */
export const HELD_WRITES_MS = 2;

/** A write call waiting for its batch to be durable. */
interface PendingWrite {
  request: WriteRequest;
  /** The number of this write call: reads wait for the writes called before them. */
  seq: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A batch sent to the writes, until it is durable or failed. */
interface SentBatch {
  writes: PendingWrite[];
  /** Set once committed. */
  outcomes?: WriteOutcome[];
}

/** A read waiting for the writes called before it to commit. */
interface WaitingRead {
  seq: number;
  run(): void;
}

/** The store's write calls, batched to the write side and settled from its reports. */
export class WriteCalls implements WriteListener {
  readonly #path: string;
  #channel: WriteChannel | undefined;
  #commits = new GroupCommit<PendingWrite>((batch) => this.#flush(batch), "immediate");
  /** Set when the write thread died: every write since fails with it. */
  #lost: StoreUnavailableError | undefined;
  #batches = 0;
  #sent = new Map<number, SentBatch>();
  /** Resolves when the writes may take the next batch. */
  #ready: PromiseWithResolvers<void> | undefined;
  /** Write calls made so far, and how many of them have committed (or failed). */
  #called = 0;
  #done = 0;
  #waitingReads: WaitingRead[] = [];
  /** The engine's writes held for the next batch (see {@linkcode HELD_WRITES_MS}), in call order. */
  #held: PendingWrite[] = [];
  #heldTimer: ReturnType<typeof setTimeout> | undefined;
  #counts: StatusCounts;
  #committed = 0;

  /** Calls to the database at `path`, whose tasks per status are `counts` now. */
  constructor(path: string, counts: StatusCounts) {
    this.#path = path;
    this.#counts = counts;
  }

  /** Tasks per status as committed, as the writes report them with every batch. */
  get counts(): StatusCounts {
    return { ...this.#counts };
  }

  /** Transactions committed so far. */
  get commits(): number {
    return this.#committed;
  }

  /** Where batches go from now on (the channel reports back to this object). */
  connect(channel: WriteChannel): void {
    this.#channel = channel;
  }

  /**
   * Queues a write for the batch of this event-loop turn; it settles once
   * durable. When nothing else waits to be sent, the engine's record of task
   * changes is held for the next call a caller waits for (a submit, at one
   * connection the next one), at most {@linkcode HELD_WRITES_MS}: one
   * transaction, one commit report and one sync for both instead of two.
   */
  call<T>(request: WriteRequest): Promise<T> {
    if (this.#lost) return Promise.reject(this.#lost);
    return new Promise<T>((resolve, reject) => {
      const write: PendingWrite = {
        request,
        seq: ++this.#called,
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      if (request.kind === "write" && this.#commits.size === 0) return this.#hold(write);
      this.#release();
      this.#commits.add(write);
    });
  }

  /**
   * Runs `run` at once when every write called before has committed (while a
   * batch's WAL sync is under way it sees that batch), else as soon as they
   * have.
   */
  afterWrites<T>(run: () => T): Promise<T> {
    this.#release(); // the read waits for them: no reason to hold them longer
    if (this.#done >= this.#called) {
      try {
        return Promise.resolve(run());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.#waitingReads.push({
        seq: this.#called,
        run: () => {
          try {
            resolve(run());
          } catch (error) {
            reject(error);
          }
        },
      });
    });
  }

  /** Sends what waits, lets every batch settle, then closes the channel. */
  async close(): Promise<void> {
    this.#release();
    this.#commits.close();
    await this.#commits.settled();
    await this.#channel?.close();
  }

  report(report: WriteReport): void {
    switch (report.kind) {
      case "committed": {
        const sent = this.#sent.get(report.batch)!;
        sent.outcomes = report.outcomes;
        this.#counts = report.counts;
        this.#committed++;
        if (report.ready) this.#ready?.resolve();
        return this.#doneThrough(sent.writes.at(-1)!.seq);
      }
      case "failed": {
        const sent = this.#sent.get(report.batch)!;
        this.#sent.delete(report.batch);
        this.#counts = report.counts;
        const error = new StoreUnavailableError(report.message);
        for (const write of sent.writes) write.reject(error);
        this.#ready?.resolve();
        return this.#doneThrough(sent.writes.at(-1)!.seq);
      }
      case "ready":
        return this.#ready?.resolve();
      case "durable":
        for (const batch of report.batches) {
          const sent = this.#sent.get(batch)!;
          this.#sent.delete(batch);
          sent.writes.forEach((write, index) => settle(write, sent.outcomes![index]));
        }
        return;
      case "unsynced": {
        const error = new StoreUnavailableError(report.message);
        for (const batch of report.batches) {
          for (const write of this.#sent.get(batch)!.writes) write.reject(error);
          this.#sent.delete(batch);
        }
      }
    }
  }

  /** The write thread died: what it held fails, and so does every write from now on. */
  lost(error: StoreUnavailableError): void {
    this.#lost ??= error;
    this.#release(); // they fail with the rest
    for (const sent of this.#sent.values()) {
      for (const write of sent.writes) write.reject(error);
    }
    this.#sent.clear();
    this.#ready?.resolve();
    this.#doneThrough(this.#called);
  }

  #hold(write: PendingWrite): void {
    this.#held.push(write);
    this.#heldTimer ??= setTimeout(() => this.#release(), HELD_WRITES_MS);
  }

  /** Queues the held writes (ahead of any call made after them). */
  #release(): void {
    if (this.#held.length === 0) return;
    clearTimeout(this.#heldTimer);
    this.#heldTimer = undefined;
    const held = this.#held;
    this.#held = [];
    for (const write of held) this.#commits.add(write);
  }

  /** Sends a turn's writes as one batch; the next waits until the writes are ready for it. */
  #flush(writes: PendingWrite[]): Promise<void> | void {
    const channel = this.#channel;
    if (this.#lost || channel === undefined) {
      const error = this.#lost ??
        new StoreUnavailableError(`The SQLite store at "${this.#path}" is not open yet.`);
      return this.#fail(writes, error);
    }
    const batch = ++this.#batches;
    this.#sent.set(batch, { writes });
    const ready = Promise.withResolvers<void>();
    this.#ready = ready;
    try {
      channel.send(batch, writes.map((write) => write.request));
    } catch (cause) {
      // Nothing was sent: a value the thread cannot be handed (the engine checks payloads, so
      // this is a bug) fails this batch's calls, not the store.
      this.#sent.delete(batch);
      return this.#fail(
        writes,
        new StoreUnavailableError(
          `Could not hand a batch of writes to the SQLite store at "${this.#path}": ${
            cause instanceof Error ? cause.message : String(cause)
          }`,
        ),
      );
    }
    return ready.promise;
  }

  #fail(writes: PendingWrite[], error: StoreUnavailableError): void {
    for (const write of writes) write.reject(error);
    this.#doneThrough(writes.at(-1)!.seq);
  }

  /** Write calls up to `seq` have committed or failed: the reads waiting for them run. */
  #doneThrough(seq: number): void {
    this.#done = Math.max(this.#done, seq);
    while (this.#waitingReads.length > 0 && this.#waitingReads[0].seq <= this.#done) {
      this.#waitingReads.shift()!.run();
    }
  }
}

/** Settles a write with its outcome from the writes (an error comes as its name and message). */
function settle(write: PendingWrite, outcome: WriteOutcome): void {
  if (outcome.ok) return write.resolve(outcome.value);
  const error = outcome.name === "StoreUnavailableError"
    ? new StoreUnavailableError(outcome.message)
    : new Error(outcome.message);
  if (!(error instanceof StoreUnavailableError)) error.name = outcome.name;
  write.reject(error);
}
