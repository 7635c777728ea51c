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
