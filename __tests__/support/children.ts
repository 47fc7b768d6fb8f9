import type { ChildProcess } from 'node:child_process';

// Child processes the test helpers started (issuer, Redis, replicas) and that are still running:
// killed if the test process exits without stopping them, so no server outlives a Jest worker.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills `child` with SIGKILL if this process exits while it is still running. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}
