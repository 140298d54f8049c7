// The lab's contact with the machine: the preflight check, running commands, namespaces and pidfiles.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { LabError, LabStepError } from './errors.js';

/** The repository (or installed package) root: this file is src/lab/ or dist/lab/ below it. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The host recipe shared with the Vagrant VMs. */
export const HOST_SCRIPT = join(REPO_ROOT, 'vagrant', 'lib', 'ovs-host.sh');
export const BUMLESS_BIN = join(REPO_ROOT, 'bin', 'bumless.js');

export function labRoot(): string {
  return process.env.BUMLESS_LAB_ROOT || '/run/bumless/labs';
}

/** Open vSwitch daemons live in sbin, which a non-login root shell may not have on its PATH. */
export const CHILD_PATH = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
  .filter((p, i, all) => p !== '' && all.indexOf(p) === i)
  .join(delimiter);

const REQUIRED_TOOLS: Array<[tool: string, pkg: string]> = [
  ['ovsdb-server', 'openvswitch-switch'],
  ['ovs-vswitchd', 'openvswitch-switch'],
  ['ovsdb-tool', 'openvswitch-switch'],
  ['ovs-vsctl', 'openvswitch-switch'],
  ['ovs-ofctl', 'openvswitch-switch'],
  ['ip', 'iproute2'],
  ['ethtool', 'ethtool'],
];
const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

function onPath(tool: string): boolean {
  return CHILD_PATH.split(delimiter).some((dir) => existsSync(join(dir, tool)));
}

/** Stops at once, naming what is missing and the Debian packages that bring it. */
export function preflight(): void {
  if (process.getuid?.() !== 0) {
    throw new LabError('the lab needs root (it creates network namespaces and runs Open vSwitch): run it as root, e.g. with sudo');
  }
  const missing = REQUIRED_TOOLS.filter(([tool]) => !onPath(tool));
  if (!existsSync(OVS_SCHEMA) && !missing.some(([, pkg]) => pkg === 'openvswitch-switch')) {
    missing.push([OVS_SCHEMA, 'openvswitch-common']);
  }
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
    throw new LabError(
      `missing ${missing.map(([tool]) => tool).join(', ')}; install the Debian packages: apt-get install -y ${pkgs.join(' ')}`,
    );
  }
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; a failure becomes a LabStepError naming `where` (a host, a container) and the command. */
export async function run(where: string, cmd: string[], opts: { timeoutMs?: number; check?: boolean } = {}): Promise<RunResult> {
  const [file, ...args] = cmd;
  if (file === undefined) throw new LabError('empty command');
  const r = await execa(file, args, {
    reject: false,
    stdin: 'ignore',
    env: { PATH: CHILD_PATH },
    timeout: opts.timeoutMs ?? 60_000,
  });
  const exitCode = r.exitCode ?? -1;
  if ((opts.check ?? true) && (r.failed || exitCode !== 0)) {
    const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : r.stderr || (r.shortMessage ?? '');
    throw new LabStepError(where, cmd, why, r.exitCode);
  }
  return { exitCode, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a subcommand of vagrant/lib/ovs-host.sh. */
export async function hostScript(where: string, sub: string, opts: Record<string, string>): Promise<void> {
  const args = Object.entries(opts).flatMap(([k, v]) => [`--${k}`, v]);
  await run(where, ['bash', HOST_SCRIPT, sub, ...args]);
}

export function listNamespaces(): string[] {
  try {
    return readdirSync('/run/netns').sort();
  } catch {
    return [];
  }
}

export function namespaceExists(ns: string): boolean {
  return existsSync(join('/run/netns', ns));
}

/** The PID in a pidfile, if that process is alive and its command line mentions `owner` (a path of ours). */
export function livePid(pidfile: string, owner: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  return processMentions(pid, owner) ? pid : undefined;
}

export function processMentions(pid: number, owner: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.includes(owner));
  } catch {
    return false;
  }
}

export function processAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces and parentheses, the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `signal`, waits up to `waitMs` for the process to go, then kills it. Returns whether it was running. */
export async function stopProcess(pid: number, signal: NodeJS.Signals = 'SIGTERM', waitMs = 5000): Promise<boolean> {
  // kill(0) and kill(-N) signal whole process groups, kill(1) init: only ever one real process of ours.
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, signal);
  } catch {
    return false;
  }
  const deadline = Date.now() + waitMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(50);
  if (processAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone between the check and the kill.
    }
    const killDeadline = Date.now() + 2000;
    while (processAlive(pid) && Date.now() < killDeadline) await sleep(20);
  }
  return true;
}

/** PIDs of processes inside a namespace (`ip netns pids`). */
export async function namespacePids(ns: string): Promise<number[]> {
  const r = await run(ns, ['ip', 'netns', 'pids', ns], { check: false });
  return r.stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

export { sleep };

/**
 * Runs fn holding the lab's lock, <root>/<lab>.lock with the holder's PID: two processes never change
 * one lab at once. A lock whose holder is gone (a crash) is taken over.
 */
export async function withLabLock<T>(lab: string, fn: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  const root = labRoot();
  const file = join(root, `${lab}.lock`);
  mkdirSync(root, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let text: string;
    let age: number;
    try {
      text = readFileSync(file, 'utf8').trim();
      age = Date.now() - statSync(file).mtimeMs;
    } catch {
      continue;
    }
    const holder = Number(text);
    // An empty file is a lock being written right now, unless it stays empty.
    const writing = text === '' && age < 5000;
    if (!writing && (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder))) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new LabError(`lab "${lab}" is busy: process ${text || '?'} holds ${file} (another lab command); wait for it, or remove the file if that process is not bumless`);
    }
    await sleep(50);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
