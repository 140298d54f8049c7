// Helpers for the agent's end-to-end tests on a lab: REST calls to a host's agent (real HTTP with curl
// inside the host's namespace, where the API listens on the underlay address), ovs-ofctl flow dumps
// parsed into records, and tcpdump captures inside lab namespaces.
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

// The demo's own capture: the tests check the overlay with the same tcpdump handling the demo shows users.
export { startCapture as capture } from '../../src/demo/capture.js';
export type { Capture } from '../../src/demo/capture.js';

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
