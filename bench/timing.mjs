// Wall and CPU time of one run, for bench/run.mjs and bench/nft.mjs. On a shared machine a contender's
// wall time also counts the time others held the cores, while its CPU time (user + system, the kernel's
// work for it included) does not. The peers are child processes: their CPU time is the waited-for
// children's (getrusage RUSAGE_CHILDREN). iptc's includes its collector's threads.
import koffi from 'koffi';

const getrusage = koffi.load('libc.so.6').func('int getrusage(int, void *)');
const rusage = Buffer.alloc(144);
const RUSAGE_CHILDREN = -1;

function cpuMs() {
  getrusage(RUSAGE_CHILDREN, rusage);
  const tv = (at) => Number(rusage.readBigInt64LE(at)) * 1000 + Number(rusage.readBigInt64LE(at + 8)) / 1000;
  const own = process.cpuUsage();
  return (own.user + own.system) / 1000 + tv(0) + tv(16);
}

/** Wall and CPU milliseconds of one run of `fn`. */
export function timed(fn) {
  const cpu = cpuMs();
  const start = process.hrtime.bigint();
  fn();
  return { wall: Number(process.hrtime.bigint() - start) / 1e6, cpu: cpuMs() - cpu };
}

export const median = (times) => [...times].sort((a, b) => a - b)[Math.floor((times.length - 1) / 2)];

/**
 * Round by round, every contender in turn (so a slow moment of the machine hits them alike), after its
 * warm-up rounds (the JIT compiles iptc's code over the first thousands of rules, and the heap settles).
 * A contender is { setup, run, rounds, warmup }: `setup` (not timed) before each run, `run` returns
 * timed()'s wall and CPU milliseconds, or milliseconds alone where only the contender can tell (a Python
 * peer, a scrape). Returns each contender's runs and medians, wall and CPU (NaN where not known).
 */
export function measure(setup, contenders) {
  setup?.();
  const entries = Object.entries(contenders);
  const runs = Object.fromEntries(entries.map(([name]) => [name, []]));
  const cpu = Object.fromEntries(entries.map(([name]) => [name, []]));
  const warmup = Math.max(...entries.map(([, c]) => c.warmup));
  const rounds = Math.max(...entries.map(([, c]) => c.rounds));
  for (let round = -warmup; round < rounds; round++) {
    for (const [name, c] of entries) {
      if (round < -c.warmup || round >= c.rounds) continue;
      c.setup?.();
      const ms = c.run();
      if (round < 0) continue;
      runs[name].push(Math.round((typeof ms === 'number' ? ms : ms.wall) * 10) / 10);
      cpu[name].push(typeof ms === 'number' ? NaN : Math.round(ms.cpu * 10) / 10);
    }
  }
  const mediansOf = (by) => Object.fromEntries(Object.entries(by).map(([name, times]) => [name, median(times)]));
  return { runs, medians: mediansOf(runs), cpu, cpuMedians: mediansOf(cpu) };
}
