// The process started inside the fresh network namespace: checks that it really is a new namespace,
// brings up lo, runs the job and writes its outcome to RESULT_FD.
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decode, encode, RESULT_FD, type Job, type Outcome } from './protocol.js';

const require = createRequire(import.meta.url);

async function loadContext(): Promise<Record<string, unknown>> {
  // Modules handed to a function job, so that its source needs no import statements (test runners
  // rewrite those, and the rewritten names do not exist here).
  const [iptc, ipset, easy] = await Promise.all([import('../iptc/index.js'), import('../ipset/index.js'), import('../easy/index.js')]);
  return { iptc, ipset, easy, require, run: (file: string, args: string[] = []) => execFileSync(file, args, { encoding: 'utf8' }) };
}

async function runJob(job: Job): Promise<unknown> {
  if (job.kind === 'module') {
    const mod = (await import(job.specifier)) as Record<string, unknown>;
    const fn = mod[job.exportName];
    if (typeof fn !== 'function') throw new TypeError(`${job.specifier} has no function export \`${job.exportName}'`);
    return await (fn as (...a: unknown[]) => unknown)(...job.args);
  }
  const fn = (0, eval)(`(${job.source})`) as unknown;
  if (typeof fn !== 'function') throw new TypeError('the job is not a function');
  return await (fn as (...a: unknown[]) => unknown)(await loadContext(), ...job.args);
}

async function main(): Promise<void> {
  let outcome: Outcome;
  try {
    if (readlinkSync('/proc/self/ns/net') === process.env.IPTC_TESTING_PARENT_NETNS) {
      throw new Error('unshare did not give a new network namespace; refusing to run');
    }
    execFileSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'pipe' });
    const job = decode<Job>(readFileSync(0, 'utf8'));
    outcome = { ok: true, value: await runJob(job) };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const extra = err as Error & { code?: unknown; errno?: unknown };
    outcome = { ok: false, error: { name: err.name, message: err.message, stack: err.stack, code: extra.code, errno: extra.errno } };
  }
  let text: string;
  try {
    text = encode(outcome);
  } catch (e) {
    text = encode({ ok: false, error: { name: 'TypeError', message: `the result cannot be sent back: ${(e as Error).message}` } });
  }
  writeSync(RESULT_FD, `${text}\n`);
}

await main();
