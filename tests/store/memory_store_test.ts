import { MemoryStore } from "../../engine/store/memory_store.ts";
import { storeConformance } from "./conformance.ts";

storeConformance({
  name: "memory store",
  durable: false,
  harness: () =>
    Promise.resolve({
      create: () => new MemoryStore(),
      cleanup: () => Promise.resolve(),
    }),
});
