// Small process helpers for the benchmarks: commands with a clear error, clocks, process memory, and
// peer packages installed with apt-get on demand (only when root, and saying so).
import { execa } from 'execa';
import { readFileSync, existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const nowMs = () => performance.now();

export interface CmdResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a command; throws with its stderr on a non-zero exit unless check is false. */
export async function sh(cmd: string, args: string[], opts: { check?: boolean; timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Promise<CmdResult> {
  const r = await execa(cmd, args, {
    reject: false,
    timeout: opts.timeoutMs ?? 120000,
    maxBuffer: 1024 * 1024 * 1024,
    ...(opts.input !== undefined && { input: opts.input }),
    ...(opts.env && { env: opts.env }),
  });
  const out = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
  if (opts.check !== false && out.exitCode !== 0) {
    throw new Error(`${cmd} ${args.join(' ').slice(0, 300)} failed (exit ${out.exitCode}${r.timedOut ? ', timed out' : ''}): ${(out.stderr || out.stdout).trim().slice(0, 800)}`);
  }
  return out;
}

/** Resident set size of a process in bytes (VmRSS from /proc), or null if it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal to a process this run started and waits until it is gone (SIGKILL after graceMs). */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function which(bin: string): Promise<boolean> {
  const r = await sh('sh', ['-c', `command -v ${bin}`], { check: false });
  return r.exitCode === 0;
}

/**
 * Makes sure the binaries exist, installing the Debian packages with apt-get when running as root.
 * Returns null when ready, else the reason the peer cannot run (reported in the results).
 */
export async function ensurePeer(bins: string[], packages: string[], log: (s: string) => void): Promise<string | null> {
  const missing = [];
  for (const b of bins) if (!(await which(b))) missing.push(b);
  if (missing.length === 0) return null;
  if (process.getuid?.() !== 0) return `${missing.join(', ')} not installed and not running as root to install ${packages.join(' ')}`;
  log(`installing ${packages.join(' ')} with apt-get (missing ${missing.join(', ')})`);
  const r = await sh('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    check: false,
    timeoutMs: 600000,
    env: { ...(process.env as Record<string, string>), DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.exitCode !== 0) return `apt-get install ${packages.join(' ')} failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
  for (const b of bins) if (!(await which(b))) return `${b} still missing after installing ${packages.join(' ')}`;
  return null;
}

export function ovsVersion(): string {
  try {
    const f = '/usr/share/openvswitch/vswitch.ovsschema';
    return existsSync(f) ? `Open vSwitch (schema ${(JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version})` : 'Open vSwitch';
  } catch {
    return 'Open vSwitch';
  }
}
