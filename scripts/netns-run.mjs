#!/usr/bin/env node
// Runs a command inside a fresh private network namespace (`unshare -n`), so that nothing it does to
// netfilter can reach the host's firewall. The command sees IPTC_HOST_NETNS (the namespace it must not
// be in) and a private XTABLES_LOCKFILE; test/setup.ts refuses to run kernel tests without both.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const netns = () => readlinkSync('/proc/self/ns/net');

function fail(message) {
  console.error(`netns-run: ${message}`);
  process.exit(1);
}

function resolveCommand(argv) {
  const [cmd, ...rest] = argv;
  if (cmd === 'node') return [process.execPath, rest];
  if (!cmd.includes('/')) return [join(root, 'node_modules', '.bin', cmd), rest];
  return [cmd, rest];
}

const args = process.argv.slice(2);
if (args[0] === '--inside') {
  const command = args.slice(1);
  if (netns() === process.env.IPTC_HOST_NETNS) fail('unshare did not give a new network namespace; refusing to run');
  const lo = spawnSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'inherit' });
  if (lo.error || lo.status !== 0) fail('could not bring up lo in the private namespace (is iproute2 installed?)');
  const [file, rest] = resolveCommand(command);
  const child = spawnSync(file, rest, { stdio: 'inherit', env: process.env });
  if (child.error) fail(`${command[0]}: ${child.error.message}`);
  process.exit(child.status ?? 1);
}

if (args.length === 0) fail('usage: netns-run.mjs COMMAND [ARGS...]');
const lockDir = mkdtempSync(join(tmpdir(), 'iptc-netns-'));
const env = {
  ...process.env,
  IPTC_HOST_NETNS: netns(),
  XTABLES_LOCKFILE: join(lockDir, 'xtables.lock'),
};
const child = spawnSync('unshare', ['--net', '--', process.execPath, fileURLToPath(import.meta.url), '--inside', ...args], {
  stdio: 'inherit',
  env,
});
rmSync(lockDir, { recursive: true, force: true });
if (child.error) fail(`cannot start unshare: ${child.error.message} (install util-linux)`);
if (child.status !== 0 && child.signal === null && child.status === 1 && process.getuid?.() !== 0) {
  fail('creating a network namespace needs root (CAP_SYS_ADMIN); run as root, e.g. `sudo npm test`');
}
process.exit(child.status ?? 1);
