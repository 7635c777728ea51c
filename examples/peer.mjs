// A second network namespace joined to this one by a veth pair, for the examples: "this" side is the
// namespace the example runs in (a private one made by scripts/netns-run.mjs), the peer is a child
// namespace made with `unshare --net`, kept alive by a sleeping process and entered with nsenter.
// Nothing here has a name on the host (no `ip netns add`), so nothing outlives the example.
import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';

function ip(args, input) {
  return execFileSync('ip', args, { encoding: 'utf8', input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
}

/**
 * Creates the peer namespace and the veth pair. `here` and `peer` are the addresses of each end
 * (CIDR), `peerExtra` more addresses for the peer end (clients that need many source addresses).
 */
export async function createPeer({ here = '10.200.0.1/24', peer = '10.200.0.2/24', here6, peer6, peerExtra = [], hereDev = 'veth-fw', peerDev = 'veth-cl' } = {}) {
  if (!process.env.IPTC_HOST_NETNS || readlinkSync('/proc/self/ns/net') === process.env.IPTC_HOST_NETNS) {
    throw new Error('run the examples through scripts/netns-run.mjs (npm run demo): they change the network namespace they run in');
  }
  const holder = spawn('unshare', ['--net', '--', 'sleep', '3600'], { stdio: 'ignore' });
  const pid = holder.pid;
  // Wait until the holder is in its own namespace.
  const mine = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== mine && readlinkSync(`/proc/${pid}/exe`).endsWith('sleep')) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 10));
  }
  const inPeer = (file, args, options = {}) => execFileSync('nsenter', ['-t', String(pid), '-n', file, ...args], { encoding: 'utf8', ...options });
  ip(['link', 'add', hereDev, 'type', 'veth', 'peer', 'name', peerDev, 'netns', String(pid)]);
  ip(['addr', 'add', here, 'dev', hereDev]);
  // nodad: IPv6 addresses usable at once, without waiting for duplicate address detection.
  if (here6) ip(['addr', 'add', here6, 'dev', hereDev, 'nodad']);
  ip(['link', 'set', hereDev, 'up']);
  // One `ip -batch` for all the peer's addresses: hundreds of them take milliseconds, not seconds.
  const batch = [
    'link set lo up',
    `addr add ${peer} dev ${peerDev}`,
    ...peerExtra.map((a) => `addr add ${a} dev ${peerDev}`),
    ...(peer6 ? [`addr add ${peer6} dev ${peerDev} nodad`] : []),
    `link set ${peerDev} up`,
  ].join('\n');
  inPeer('ip', ['-batch', '-'], { input: `${batch}\n` });
  return {
    pid,
    address: peer.split('/')[0],
    hereAddress: here.split('/')[0],
    /** Runs a program in the peer namespace; returns its stdout. */
    exec: inPeer,
    /** Runs `node script args` in the peer namespace and returns its stdout (async: the server here keeps serving). */
    node(script, args = []) {
      return new Promise((resolve, reject) => {
        const child = spawn('nsenter', ['-t', String(pid), '-n', process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (c) => (out += c));
        child.on('error', reject);
        child.on('close', (status) => (status === 0 ? resolve(out) : reject(new Error(`${script} exited with status ${status}`))));
      });
    },
    close() {
      holder.kill('SIGKILL');
      try {
        ip(['link', 'del', hereDev]);
      } catch {}
    },
  };
}
