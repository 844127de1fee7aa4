import { useEffect } from "preact/hooks";
import { StaleNote } from "../components/StaleNote.tsx";
import { formatAge } from "../components/format.ts";
import { useStaleAge } from "./_client/freshness.ts";
import { useHydrated } from "./_client/hydrated.ts";
import { clock, connection, seed, serverNode, startLive, stats, statsAt } from "./_client/live.ts";
import type { DashboardStats } from "../components/types.ts";

/** Props of {@linkcode NodeInfo}. */
export interface NodeInfoProps {
  stats: DashboardStats;
}

/**
 * The node this page talks to, its store and state, and its uptime, ticking
 * each second; after a reconnect to a restarted server it shows the new node.
 */
export default function NodeInfo(props: NodeInfoProps) {
  useEffect(() => {
    seed({ stats: props.stats });
    startLive();
  }, []);
  const hydrated = useHydrated();
  const current = stats.value ?? props.stats;
  const node = serverNode.value ?? current.nodeId;
  const age = useStaleAge();
  const at = statsAt.value;
  // Between two stats messages the uptime runs on with the browser's clock.
  const running = hydrated && connection.value === "live" && at !== null ? clock.value - at : 0;
  // Right after a restart the figures still describe the old node until its first stats.
  const uptime = node === current.nodeId ? formatAge(current.uptimeMs + Math.max(0, running)) : "–";
  return (
    <p class="muted node-info">
      <span>
        Node <span class="mono" data-node>{node}</span>
      </span>
      <span>store {current.store}</span>
      <span>{current.state}</span>
      <span>
        up <span data-uptime>{uptime}</span>
      </span>
      <StaleNote ageMs={age} />
    </p>
  );
}
