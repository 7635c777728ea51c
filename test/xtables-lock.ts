// Another process holding the xtables lock (util-linux flock on $XTABLES_LOCKFILE, the private lock file
// of the test namespace), as a concurrent iptables-legacy would.
import { spawn } from 'node:child_process';

/**
 * Holds the lock from another process for `ms`, or until release(). The holder runs in a process group of
 * its own so that release() ends flock and its sleep together.
 */
export async function holdLock(ms: number): Promise<{ release: () => Promise<void> }> {
  const child = spawn('flock', ['-x', process.env.XTABLES_LOCKFILE!, 'sh', '-c', `echo held; exec sleep ${ms / 1000}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.on('error', reject);
  });
  return {
    release: async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
  };
}

/** Runs fn while another process holds the lock. */
export async function withLockHeld<T>(fn: () => T): Promise<T> {
  const lock = await holdLock(30_000);
  try {
    return fn();
  } finally {
    await lock.release();
  }
}
