// The lab's agents as the benchmarks use them: started and ready with their admin tokens, REST calls
// through a helper process inside a host namespace, flows read straight from a host's br-int over
// its management socket (an OpenFlow flow-stats request, cheaper than spawning ovs-ofctl per poll).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/index.js';
import { OpenFlowSession, parseTarget } from '../../src/switch/index.js';
import { sleep } from './sys.js';

export interface ApiReply {
  status: number;
  body: unknown;
}

const REPO = join(import.meta.dirname, '..', '..');

/** A long-lived HTTP client process inside a lab namespace. */
export class NsHttp {
  #child: ChildProcess;
  #next = 1;
  #pending = new Map<number, (r: ApiReply) => void>();

  constructor(ns: string) {
    this.#child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(REPO, 'bench', 'lib', 'ns-http-child.ts')], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as ApiReply & { id: number };
      const p = this.#pending.get(r.id);
      this.#pending.delete(r.id);
      p?.({ status: r.status, body: r.body });
    });
    this.#child.on('exit', () => {
      for (const p of this.#pending.values()) p({ status: 0, body: 'ns-http helper exited' });
      this.#pending.clear();
    });
  }

  request(method: string, url: string, token?: string, body?: unknown): Promise<ApiReply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin!.write(`${JSON.stringify({ id, method, url, token, body })}\n`);
    });
  }

  stop(): void {
    if (this.#child.exitCode === null && this.#child.pid !== undefined) this.#child.kill('SIGTERM');
  }
}

export interface AgentHandle {
  host: string;
  url: string;
  token: string;
  pid: number;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Starts the agents that are not running and waits until every one answers /readyz. */
export async function readyAgents(lab: Lab, http: NsHttp, log: (s: string) => void, timeoutMs = 120000): Promise<Map<string, AgentHandle>> {
  let st = await lab.status();
  if (st.hosts.some((h) => !h.agent)) {
    log(`starting agents on ${st.hosts.filter((h) => !h.agent).map((h) => h.id).join(', ')}`);
    for (const h of st.hosts) if (!h.agent) await lab.startAgents({ host: h.id, readyTimeoutMs: timeoutMs });
    st = await lab.status();
  }
  const out = new Map<string, AgentHandle>();
  for (const h of st.hosts) {
    const a = h.agent;
    if (!a?.adminToken) throw new Error(`${h.id}: agent not running or no admin token yet`);
    out.set(h.id, { host: h.id, url: a.apiUrl, token: a.adminToken, pid: a.pid });
  }
  for (const a of out.values()) await until(`${a.host} /readyz`, async () => ((await http.request('GET', `${a.url}/readyz`)).status === 200 ? true : undefined), timeoutMs, 100);
  return out;
}

export function call(http: NsHttp, a: AgentHandle, method: string, path: string, body?: unknown, token = a.token): Promise<ApiReply> {
  return http.request(method, `${a.url}${path}`, token, body);
}

/** An OpenFlow session to a host's br-int for reading flows (no writes). */
export async function flowReader(mgmt: string): Promise<OpenFlowSession> {
  const s = new OpenFlowSession({ target: parseTarget(mgmt), requestTimeoutMs: 60000 });
  s.start();
  await s.whenConnected();
  return s;
}

/** Whether br-int has the forwarding flow (table 30, eth_dst=mac) for a remote endpoint. */
export async function hasForwardFlow(s: OpenFlowSession, mac: string): Promise<boolean> {
  const flows = await s.dumpFlows({ tableId: 30, match: [{ field: 'eth_dst', value: mac }] });
  return flows.some((f) => f.match.some((m) => m.field === 'eth_dst' && m.value === mac && m.mask === undefined));
}

/** The agent's switch counters from /v1/status. */
export interface AgentSwitch {
  flows: { desired: number; installed: number };
  reconcile: { count: number; flowModsSent?: number; lastAdded?: number; lastModified?: number; lastDeleted?: number };
}

export async function agentStatus(http: NsHttp, a: AgentHandle): Promise<{ ready: boolean; switch: AgentSwitch; registry: { endpoints: number } } | undefined> {
  const r = await call(http, a, 'GET', '/v1/status');
  return r.status === 200 ? (r.body as { ready: boolean; switch: AgentSwitch; registry: { endpoints: number } }) : undefined;
}
