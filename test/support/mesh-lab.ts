// Helpers for the mesh lab tests: a three-host lab whose agents run with short mesh timers, REST calls
// through one long-lived client process per host namespace (mesh-ns-child.ts: a request costs no
// process start, so hundreds can be in flight), registry listings normalised for comparison, and
// forwarding flows read from br-int.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Lab } from '../../src/lab/index.js';
import type { ContainerOptions } from '../../src/lab/index.js';
import { dumpFlows, sleep, until } from './agent-lab.js';
import type { Frame, WsResult } from './mesh-ns-child.js';

export { sleep, until };
export type { Frame, WsResult };

const REPO = join(import.meta.dirname, '..', '..');
export const HOSTS = ['h1', 'h2', 'h3'] as const;
export const API_PORT = 8080;
export const MESH_PORT = 7471;

/**
 * Short timers so that a partition, a graceful-restart expiry and a reconnection fit in seconds:
 * keepalive 300 ms, hold 1.2 s, graceful restart 6 s.
 */
export const FAST_MESH = { 'mesh.keepaliveMs': 300, 'mesh.holdMs': 1200, 'mesh.gracefulRestartMs': 6000 } as const;

/**
 * A registration the agent acknowledged: durable (201, or 202 when the switch has not confirmed the
 * local flows, e.g. because the endpoint's port is not on br-int yet: most test endpoints have none).
 */
export function acknowledged(status: number): boolean {
  return status === 201 || status === 202;
}

export interface Reply {
  status: number;
  body: unknown;
}

/** A long-lived client process inside one lab namespace. */
export class NsClient {
  #child: ChildProcess;
  #next = 1;
  #pending = new Map<number, (r: Reply) => void>();

  constructor(ns: string) {
    this.#child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(REPO, 'test', 'support', 'mesh-ns-child.ts')], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as Reply & { id: number };
      const p = this.#pending.get(r.id);
      this.#pending.delete(r.id);
      p?.({ status: r.status, body: r.body });
    });
    this.#child.on('exit', () => {
      for (const p of this.#pending.values()) p({ status: 0, body: 'namespace client exited' });
      this.#pending.clear();
    });
  }

  private send(req: Record<string, unknown>): Promise<Reply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin!.write(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  http(method: string, url: string, token?: string, body?: unknown): Promise<Reply> {
    return this.send({ op: 'http', method, url, ...(token !== undefined && { token }), ...(body !== undefined && { body }) });
  }

  async ws(opts: { url: string; ca: string; cert: string; key: string; frames: Frame[]; waitMs?: number }): Promise<WsResult> {
    const r = await this.send({ op: 'ws', ...opts });
    if (r.status !== 200) throw new Error(`namespace ws client failed: ${JSON.stringify(r.body)}`);
    return r.body as WsResult;
  }

  stop(): void {
    if (this.#child.exitCode === null && this.#child.pid !== undefined) this.#child.kill('SIGTERM');
  }
}

/** An endpoint as listed by GET /v1/endpoints. */
export interface EndpointView {
  network: string;
  mac: string;
  ips: string[];
  hostId: string;
  vtep: string;
  seq: number;
  stale: boolean;
  port?: string;
}

export interface MeshStatus {
  ready: boolean;
  peers: Array<{ hostId: string; state: string; reachable: boolean }>;
  registry: { endpoints: number; localEndpoints: number; staleEndpoints: number };
  alarms: Array<{ id: string; kind: string; subject: string; message: string }>;
}

/** What must be equal on every agent: the active endpoints and who holds them, in one order. */
export function canonical(eps: EndpointView[]): string {
  return JSON.stringify(
    eps
      .map((e) => ({ network: e.network, mac: e.mac, ips: [...e.ips].sort(), hostId: e.hostId, vtep: e.vtep, seq: e.seq, stale: e.stale }))
      .sort((a, b) => (a.network + a.mac < b.network + b.mac ? -1 : a.network + a.mac > b.network + b.mac ? 1 : 0)),
  );
}

export const macOf = (host: number, i: number) => `02:5e:${host.toString(16).padStart(2, '0')}:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;

export class MeshLab {
  readonly tokens: Record<string, string> = {};
  readonly clients = new Map<string, NsClient>();
  private constructor(
    readonly name: string,
    readonly lab: Lab,
    readonly set: Record<string, string | number | boolean>,
  ) {}

  /** A fresh lab (any leftover of the same name removed first) with containers and running agents. */
  static async up(name: string, opts: { containers?: ContainerOptions[]; set?: Record<string, string | number | boolean> } = {}): Promise<MeshLab> {
    await Lab.down(name);
    const lab = await Lab.up({ lab: name, hosts: 3 });
    const m = new MeshLab(name, lab, { ...FAST_MESH, ...opts.set });
    for (const c of opts.containers ?? []) await lab.addContainer(c);
    for (const h of HOSTS) m.clients.set(h, new NsClient(lab.ns({ host: h })));
    await lab.startAgents({ set: m.set });
    for (const h of HOSTS) await m.waitAgent(h);
    return m;
  }

  /** Waits until the agent of `host` answers /readyz, and reads its admin token. */
  async waitAgent(host: string): Promise<void> {
    this.tokens[host] = await until(`${host}'s admin token`, async () => {
      const s = await this.lab.status();
      return s.hosts.find((x) => x.id === host)?.agent?.adminToken ?? undefined;
    }, 30000, 100);
    await until(`${host}'s agent ready`, async () => ((await this.api(host, 'GET', '/readyz')).status === 200 ? true : undefined), 30000, 100);
  }

  async startAgent(host: string): Promise<void> {
    await this.lab.startAgents({ host, set: this.set });
    await this.waitAgent(host);
  }

  url(host: string, path: string): string {
    return `http://${this.lab.host(host).underlayIp}:${API_PORT}${path}`;
  }

  /** A REST call to the agent of `host`, from inside its namespace. */
  api(host: string, method: string, path: string, body?: unknown): Promise<Reply> {
    const c = this.clients.get(host);
    if (!c) throw new Error(`no client for ${host}`);
    return c.http(method, this.url(host, path), this.tokens[host], body);
  }

  async endpoints(host: string): Promise<EndpointView[]> {
    const r = await this.api(host, 'GET', '/v1/endpoints');
    if (r.status !== 200) throw new Error(`${host}: GET /v1/endpoints answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    return (r.body as { items: EndpointView[] }).items;
  }

  async status(host: string): Promise<MeshStatus> {
    const r = await this.api(host, 'GET', '/v1/status');
    if (r.status !== 200) throw new Error(`${host}: GET /v1/status answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body as MeshStatus;
  }

  /** Creates a tenant and a network through `host` and waits until every agent holds the network. */
  async network(host: string, tenant: string, name: string, cidr: string, vni: number): Promise<void> {
    const t = await this.api(host, 'POST', '/v1/tenants', { name: tenant });
    if (t.status !== 201) throw new Error(`create tenant ${tenant}: ${t.status} ${JSON.stringify(t.body)}`);
    const n = await this.api(host, 'POST', '/v1/networks', { tenant, name, cidrs: [cidr], vni });
    if (n.status !== 201) throw new Error(`create network ${tenant}/${name}: ${n.status} ${JSON.stringify(n.body)}`);
    for (const h of HOSTS) {
      await until(`network ${tenant}/${name} on ${h}`, async () => {
        const r = await this.api(h, 'GET', '/v1/networks');
        return (r.body as { items?: Array<{ tenant: string; name: string }> }).items?.some((x) => x.tenant === tenant && x.name === name) ? true : undefined;
      }, 15000, 100);
    }
  }

  /** Waits until every agent's listing is the same and satisfies `check`; returns that listing. */
  async converged(what: string, check: (eps: EndpointView[]) => boolean, timeoutMs = 30000, hosts: readonly string[] = HOSTS): Promise<EndpointView[]> {
    let last = '';
    try {
      return await until(what, async () => {
        const lists = await Promise.all(hosts.map((h) => this.endpoints(h)));
        const c = lists.map(canonical);
        last = hosts.map((h, i) => `${h}: ${lists[i]!.length} endpoints`).join(', ');
        return c.every((x) => x === c[0]) && check(lists[0]!) ? lists[0] : undefined;
      }, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message} (last: ${last})`);
    }
  }

  /** Whether br-int of `host` has the forwarding flow (table 30, dl_dst=mac) into the tunnel. */
  async forwards(host: string, mac: string): Promise<boolean> {
    const flows = await dumpFlows(this.lab, host);
    return flows.some((f) => f.table === 30 && f.match.includes(`dl_dst=${mac}`) && f.actions.includes('tun_dst'));
  }

  /** MACs with a forwarding flow into the tunnel on `host`. */
  async forwardedMacs(host: string): Promise<Set<string>> {
    const flows = await dumpFlows(this.lab, host);
    const out = new Set<string>();
    for (const f of flows) {
      if (f.table !== 30 || !f.actions.includes('tun_dst')) continue;
      const m = /dl_dst=([0-9a-f:]{17})/.exec(f.match);
      if (m) out.add(m[1]!);
    }
    return out;
  }

  /** Takes the underlay link of `host` down or up (its veth end in the underlay namespace). */
  async link(host: string, state: 'up' | 'down'): Promise<void> {
    await this.lab.exec({ underlay: true }, ['ip', 'link', 'set', 'dev', host, state]);
  }

  async agentPid(host: string): Promise<number | undefined> {
    const s = await this.lab.status();
    return s.hosts.find((x) => x.id === host)?.agent?.pid;
  }

  /** Stops the clients and removes the lab; safe to call when `up` failed half-way. */
  static async teardown(name: string, m: MeshLab | undefined): Promise<void> {
    if (m) for (const c of m.clients.values()) c.stop();
    await Lab.down(name);
  }
}

export function labName(prefix: string): string {
  return `${prefix}${process.pid % 100000}`;
}
