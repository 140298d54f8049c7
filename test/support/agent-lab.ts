// Helpers for the agent's end-to-end tests on a lab: REST calls to a host's agent (real HTTP with curl
// inside the host's namespace, where the API listens on the underlay address), ovs-ofctl flow dumps
// parsed into records, and tcpdump captures inside lab namespaces.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../src/lab/index.js';

export interface ApiReply {
  status: number;
  body: unknown;
}

/** One HTTP request to the agent of `host`, from inside that host's namespace. */
export async function api(lab: Lab, host: string, token: string, method: string, path: string, body?: unknown): Promise<ApiReply> {
  const h = lab.state.hosts.find((x) => x.id === host);
  if (!h) throw new Error(`no host ${host}`);
  const args = ['curl', '-sS', '-m', '15', '-o', '-', '-w', '\n%{http_code}', '-X', method, '-H', `authorization: Bearer ${token}`];
  if (body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
  args.push(`http://${h.underlayIp}:8080${path}`);
  const r = await lab.exec({ host }, args, { check: false, timeoutMs: 20000 });
  const nl = r.stdout.lastIndexOf('\n');
  const status = Number(r.stdout.slice(nl + 1));
  const text = r.stdout.slice(0, nl);
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: Number.isFinite(status) ? status : 0, body: parsed };
}

export interface DumpedFlow {
  cookie: bigint;
  durationSec: number;
  table: number;
  packets: number;
  priority: number;
  match: string;
  actions: string;
  /** table/priority/match: the reconciler's identity. */
  id: string;
}

/** Parses `ovs-ofctl -O OpenFlow13 dump-flows` output. */
export function parseDump(text: string): DumpedFlow[] {
  const out: DumpedFlow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*cookie=(0x[0-9a-f]+), duration=([\d.]+)s, table=(\d+), n_packets=(\d+), n_bytes=\d+, (?:[a-z_]+=[^,]+, )*?(?:priority=(\d+),?)?(.*?) ?actions=(.*)$/.exec(line);
    if (!m) continue;
    const table = Number(m[3]);
    const priority = m[5] === undefined ? 32768 : Number(m[5]);
    const match = m[6]!.trim();
    out.push({
      cookie: BigInt(m[1]!),
      durationSec: Number(m[2]),
      table,
      packets: Number(m[4]),
      priority,
      match,
      actions: m[7]!,
      id: `${table}/${priority}/${match}`,
    });
  }
  return out;
}

export async function dumpFlows(lab: Lab, host: string): Promise<DumpedFlow[]> {
  return parseDump(await lab.ofctl(host, 'dump-flows'));
}

/** Flows of one cookie kind (pipeline cookie layout: bits 31-8 VNI, 7-0 kind). */
export function ofKind(flows: DumpedFlow[], vni: number, kind: number): DumpedFlow[] {
  return flows.filter((f) => (f.cookie & 0xffffffffn) === BigInt((vni << 8) | kind));
}

export function sumPackets(flows: DumpedFlow[]): number {
  return flows.reduce((n, f) => n + f.packets, 0);
}

export interface Capture {
  where: string;
  child: ChildProcess;
  lines: string[];
  stop(): Promise<string[]>;
}

/** Starts tcpdump in a namespace; resolves once it listens. stop() ends it (by its PID) and returns the frames. */
export function capture(ns: string, iface: string, where: string, extra: string[] = []): Promise<Capture> {
  return new Promise((resolve, reject) => {
    // `ip netns exec` execs tcpdump, so the child's PID is tcpdump's own.
    const child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-n', '-e', '-l', '-vv', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcpdump in ${ns} did not start`));
    }, 10000);
    child.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve({
          where,
          child,
          lines,
          stop: () =>
            new Promise<string[]>((done) => {
              if (child.exitCode !== null) return done(lines);
              child.once('exit', () => done(buf ? [...lines, buf] : lines));
              child.kill('SIGINT');
              setTimeout(() => child.kill('SIGKILL'), 3000).unref();
            }),
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump in ${ns} exited early (${code})`));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until fn returns a value other than undefined, or throws after timeoutMs. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}
