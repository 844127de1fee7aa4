/** Never returns, in a worker process: its timeout kills the process, which is respawned. */
export const isolation = "process";

export default function spinProcess(): never {
  while (true) {
    // Busy until killed: each run measures a respawn.
  }
}
