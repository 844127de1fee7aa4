/**
 * The shared-store part of the store conformance suite, run against
 * PostgreSQL: claiming, leases, fencing, cluster counts, messages and the
 * node registry.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { SharedTaskStore } from "../../engine/store/shared_store.ts";
import {
  changed,
  type ConformanceOptions,
  conformanceTest,
  makeTask,
  type StoreHarness,
  withStore,
} from "./_store_fixtures.ts";

/** Registers the shared-store part of the suite (claiming, leases, fencing, messages). */
export function sharedStoreConformance(
  options: Omit<ConformanceOptions, "durable"> & { harness(): Promise<StoreHarness> },
): void {
  const test = conformanceTest(options);
  const shared = (harness: StoreHarness, fn: (store: SharedTaskStore) => Promise<void>) =>
    withStore<SharedTaskStore>(harness, fn);

  test("claim takes the highest priority first, then the oldest, and leases it", (harness) =>
    shared(harness, async (store) => {
      const tasks = [
        makeTask({ priority: 1 }),
        makeTask({ priority: 9 }),
        makeTask({ priority: 5 }),
        makeTask({ priority: 9 }),
        makeTask({ priority: 5, status: "scheduled", runAt: Date.now() + 60_000 }),
        makeTask({ priority: 10, runAt: Date.now() + 60_000 }),
      ];
      await store.insert(tasks);
      const claimed = await store.claim(3, "node-a", 15_000);
      assertEquals(claimed.map((c) => c.task.id), [tasks[1].id, tasks[3].id, tasks[2].id]);
      for (const c of claimed) {
        // Claimed is not running: a worker has not started it yet.
        assertEquals(c.task.status, "queued");
        assertEquals(c.task.attempts, 0);
        assertEquals(c.task.nodeId, "node-a");
        assertEquals(c.task.startedAt, null);
        assert(c.leaseExpiresAt > Date.now() + 10_000);
        assertEquals(typeof c.leaseToken, "string");
      }
      assertEquals(new Set(claimed.map((c) => c.leaseToken)).size, 3);
      const next = await store.claim(10, "node-b", 15_000);
      assertEquals(next.map((c) => c.task.id), [tasks[0].id]);
      assertEquals(await store.claim(10, "node-b", 15_000), []);
      assertEquals((await store.get(tasks[1].id))?.status, "queued");
    }));

  test("claim with aging orders by aged priority", (harness) =>
    shared(harness, async (store) => {
      const now = Date.now();
      const old = makeTask({ priority: 2, runAt: now - 10_000 });
      const fresh = makeTask({ priority: 9, runAt: now });
      await store.insert([fresh, old]);
      // 10 s at one level per second: the priority-2 task counts as 10 (capped) and is older.
      const claimed = await store.claim(2, "node-a", 15_000, 1_000);
      assertEquals(claimed.map((c) => c.task.id), [old.id, fresh.id]);
    }));

  test("concurrent claims from two stores never take the same task", (harness) =>
    shared(harness, async (a) => {
      const b = harness.create() as SharedTaskStore;
      await b.open();
      try {
        const tasks = Array.from({ length: 200 }, (_, i) => makeTask({ priority: 1 + (i % 10) }));
        await a.insert(tasks);
        const taken: string[] = [];
        const drain = async (store: SharedTaskStore, node: string) => {
          while (true) {
            const claimed = await store.claim(7, node, 15_000);
            if (claimed.length === 0) return;
            taken.push(...claimed.map((c) => c.task.id));
          }
        };
        await Promise.all([drain(a, "a"), drain(b, "b"), drain(a, "a2"), drain(b, "b2")]);
        assertEquals(taken.length, 200);
        assertEquals(new Set(taken).size, 200);
      } finally {
        await b.close();
      }
    }));

  test("fenced writes are refused once the lease is lost; renew keeps it", (harness) =>
    shared(harness, async (store) => {
      const task = makeTask({ maxAttempts: 3 });
      await store.insert([task]);
      const [claim] = await store.claim(1, "node-a", 15_000);
      const leases = await store.renewLeases("node-a", 30_000);
      assertEquals(leases.map((l) => [l.taskId, l.leaseToken]), [[task.id, claim.leaseToken]]);
      assert(leases[0].leaseExpiresAt >= claim.leaseExpiresAt);
      assertEquals(await store.renewLeases("node-b", 30_000), []);

      const started = changed(claim.task, {
        status: "running",
        attempts: 1,
        startedAt: Date.now(),
        workerId: 2,
      });
      assertEquals(await store.writeFenced([{ task: started, leaseToken: claim.leaseToken }]), []);
      const progress = changed(started, { progress: 0.25 });
      assertEquals(await store.writeFenced([{ task: progress, leaseToken: claim.leaseToken }]), []);
      assertEquals((await store.get(task.id))?.progress, 0.25);
      const stale = changed(progress, { status: "succeeded", finishedAt: Date.now() });
      assertEquals(
        await store.writeFenced([{ task: stale, leaseToken: crypto.randomUUID() }]),
        [task.id],
      );
      assertEquals((await store.get(task.id))?.status, "running");

      // Requeued by its node (attempt given back), still held; release hands it to any node.
      const requeued = changed(progress, { status: "queued", attempts: 0, startedAt: null });
      assertEquals(await store.writeFenced([{ task: requeued, leaseToken: claim.leaseToken }]), []);
      assertEquals((await store.claim(1, "node-b", 15_000)).length, 0, "still held by node-a");
      assertEquals(await store.release([claim.leaseToken]), [task.id]);
      const released = await store.get(task.id);
      assertEquals([released?.status, released?.attempts], ["queued", 0]);
      assertEquals(await store.writeFenced([{ task: stale, leaseToken: claim.leaseToken }]), [
        task.id,
      ]);

      // A completion with the live token ends the lease.
      const [again] = await store.claim(1, "node-b", 15_000);
      const done = changed(again.task, {
        status: "succeeded",
        attempts: 1,
        result: 42,
        startedAt: Date.now(),
        finishedAt: Date.now(),
      });
      assertEquals(await store.writeFenced([{ task: done, leaseToken: again.leaseToken }]), []);
      assertEquals(await store.get(task.id), done);
      assertEquals(await store.renewLeases("node-b", 15_000), []);
    }));

  test("expired leases are reclaimed: running ones requeued or failed, claimed ones freed", (harness) =>
    shared(harness, async (store) => {
      const retryable = makeTask({ maxAttempts: 2, priority: 9 });
      const lastTry = makeTask({ maxAttempts: 1, priority: 5 });
      const unstarted = makeTask({ maxAttempts: 1, priority: 1 });
      await store.insert([retryable, lastTry, unstarted]);
      const claims = await store.claim(3, "dead-node", 1);
      assertEquals(claims.length, 3);
      const running = claims.slice(0, 2).map((c) => ({
        task: changed(c.task, { status: "running" as const, attempts: 1, startedAt: Date.now() }),
        leaseToken: c.leaseToken,
      }));
      assertEquals(await store.writeFenced(running), []);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const reclaimed = await store.reclaimExpired();
      const byId = new Map(reclaimed.map((c) => [c.task.id, c]));
      assertEquals(byId.size, 2, "a claim that never started changes no status");
      assertEquals(byId.get(retryable.id)?.from, "running");
      assertEquals(byId.get(retryable.id)?.task.status, "queued");
      assertEquals(byId.get(retryable.id)?.task.attempts, 1);
      assertEquals(byId.get(lastTry.id)?.task.status, "failed");
      assertEquals(byId.get(lastTry.id)?.task.error?.name, "LeaseExpiredError");
      assert(byId.get(lastTry.id)?.task.finishedAt);
      assertEquals(await store.reclaimExpired(), []);
      // The zombie's completion is refused; the new owner's goes through.
      const zombie = changed(running[0].task, { status: "succeeded", finishedAt: Date.now() });
      assertEquals(await store.writeFenced([{ task: zombie, leaseToken: claims[0].leaseToken }]), [
        retryable.id,
      ]);
      const fresh = await store.claim(2, "live-node", 15_000);
      assertEquals(fresh.map((c) => [c.task.id, c.task.attempts]), [
        [retryable.id, 1],
        [unstarted.id, 0],
      ]);
      assertEquals(await store.reclaimExpired(), []);
    }));

  test("promoteDue queues scheduled tasks whose time came; cancel fences the runner", (harness) =>
    shared(harness, async (store) => {
      const now = Date.now();
      const due = makeTask({ status: "scheduled", runAt: now - 10 });
      const later = makeTask({ status: "scheduled", runAt: now + 3_600_000 });
      await store.insert([due, later]);
      const promoted = await store.promoteDue(now);
      assertEquals(promoted.map((c) => [c.task.id, c.from, c.task.status]), [
        [due.id, "scheduled", "queued"],
      ]);
      assertEquals(await store.promoteDue(now), []);

      const [claim] = await store.claim(1, "node-a", 15_000);
      const cancelled = await store.cancel(claim.task.id, {
        name: "CancelledError",
        message: "The task was cancelled.",
      });
      assertEquals(
        [cancelled?.from, cancelled?.task.status, cancelled?.heldBy],
        ["queued", "cancelled", "node-a"],
      );
      assert(cancelled?.task.finishedAt);
      assertEquals(cancelled?.task.error?.name, "CancelledError");
      const done = changed(claim.task, { status: "succeeded", finishedAt: Date.now() });
      assertEquals(await store.writeFenced([{ task: done, leaseToken: claim.leaseToken }]), [
        due.id,
      ]);
      assertEquals(await store.cancel(due.id), undefined);
      const laterCancel = await store.cancel(later.id);
      assertEquals([laterCancel?.from, laterCancel?.heldBy], ["scheduled", null]);
      assertEquals(await store.cancel(crypto.randomUUID()), undefined);
    }));

  test("cluster counts and depth follow every change without a scan", (harness) =>
    shared(harness, async (store) => {
      const now = Date.now();
      await store.insert([
        makeTask({ priority: 9, runAt: now - 500 }),
        makeTask({ priority: 9 }),
        makeTask({ priority: 2 }),
        makeTask({ status: "scheduled", runAt: now + 60_000 }),
      ]);
      let depth = await store.clusterDepth();
      assertEquals([depth.counts.queued, depth.counts.scheduled], [3, 1]);
      assertEquals([depth.queuedByPriority[9], depth.queuedByPriority[2]], [2, 1]);
      assertEquals(depth.oldestQueuedAt[9], now - 500);
      assertEquals(depth.oldestQueuedAt[5], null);
      const [claim] = await store.claim(1, "node-a", 15_000);
      const done = changed(claim.task, { status: "succeeded", attempts: 1, finishedAt: now });
      await store.writeFenced([{ task: done, leaseToken: claim.leaseToken }]);
      await store.compactCounts();
      depth = await store.clusterDepth();
      assertEquals([depth.counts.queued, depth.counts.succeeded], [2, 1]);
      assertEquals(depth.queuedByPriority[9], 1);
      assertEquals(await store.counts(), depth.counts);
    }));

  test("messages reach every subscriber; large events go by reference", (harness) =>
    shared(harness, async (a) => {
      const b = harness.create() as SharedTaskStore;
      await b.open();
      const received: unknown[] = [];
      let wake: () => void = () => {};
      const unsubscribe = await b.subscribe((message) => {
        received.push(message);
        wake();
      });
      const until = async (count: number) => {
        while (received.length < count) await new Promise<void>((resolve) => (wake = resolve));
      };
      try {
        const big = makeTask({ payload: { text: "x".repeat(20_000) } });
        await a.insert([big]); // queued: a work message
        await until(1);
        assertEquals(received[0], { kind: "work", origin: a.instanceId });
        const event = { type: "task.queued" as const, seq: 7, at: Date.now(), task: big };
        await a.publish({ kind: "event", origin: a.instanceId, event });
        await until(2);
        assertEquals(received[1], { kind: "event", origin: a.instanceId, event });
        await a.publish({ kind: "cancel", origin: a.instanceId, taskId: big.id, nodeId: "n" });
        await until(3);
        assertEquals(received[2], {
          kind: "cancel",
          origin: a.instanceId,
          taskId: big.id,
          nodeId: "n",
        });
      } finally {
        await unsubscribe();
        await b.close();
      }
    }));

  test("the node registry lists live nodes with their workers", (harness) =>
    shared(harness, async (store) => {
      const worker = {
        id: 0,
        nodeId: "node-a",
        state: "idle" as const,
        taskIds: [],
        progress: null,
        completed: 3,
        failed: 0,
        restarts: 0,
        startedAt: 1,
      };
      await store.heartbeat({ nodeId: "node-a", startedAt: 1, workers: [worker] });
      await store.heartbeat({ nodeId: "node-b", startedAt: 2, workers: [], info: { v: "1" } });
      await store.heartbeat({ nodeId: "node-a", startedAt: 1, workers: [worker, worker] });
      const nodes = await store.nodes();
      assertEquals(nodes.map((n) => [n.nodeId, n.workers.length]), [["node-a", 2], ["node-b", 0]]);
      assertEquals(nodes[1].info, { v: "1" });
      await store.removeNode("node-b");
      assertEquals((await store.nodes()).map((n) => n.nodeId), ["node-a"]);
      assert(store.healthy);
    }));
}
