import { MemoryStore } from "../../engine/store/memory_store.ts";
import { storeConformance } from "./conformance.ts";
import { engineConformance } from "./engine_conformance.ts";

const harness = () =>
  Promise.resolve({
    create: () => new MemoryStore(),
    cleanup: () => Promise.resolve(),
  });

storeConformance({ name: "memory store", durable: false, harness });
engineConformance({ name: "memory", harness, durable: false });
