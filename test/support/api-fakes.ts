// In-memory implementations of the API's ports (src/api/ports.ts) for unit tests of the API and the CLI.
// They behave like the real components where the API depends on it: typed errors by name, durable-write
// latency (an await between check and write, so races in the API would show), waitInstalled that resolves
// only after the "switch" has applied the change.
import type { Endpoint, Network, Tenant } from '../../src/registry/model.js';
import { endpointKey } from '../../src/registry/model.js';
import type {
  Alarm,
  EndpointFilter,
  FlowView,
  FlowsPort,
  InstallOutcome,
  LocalEndpointInput,
  MeshPort,
  NetworkInput,
  PeerInfo,
  RegistryPort,
  RegistryStats,
  StatusPort,
  SwitchStatus,
  TenantInput,
  TracePort,
} from '../../src/api/ports.js';
import { MemoryTokenStore } from '../../src/api/auth.js';
import { buildApi, startApi } from '../../src/api/server.js';
import { registryPort, registryTokens } from '../../src/api/registry-adapter.js';
import type { TestNode } from './registry-fixtures.js';
import { Histogram, RECONCILE_BUCKETS } from '../../src/api/metrics.js';
import type { ApiOptions } from '../../src/api/server.js';

class NamedError extends Error {
  constructor(name: string, message: string, readonly holder?: unknown) {
    super(message);
    this.name = name;
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export class MemoryRegistry implements RegistryPort {
  readonly t = new Map<string, Tenant>();
  readonly n = new Map<string, Network>();
  readonly e = new Map<string, Endpoint>();
  /** Number of upsert calls that changed the map (for "lands exactly once"). */
  writes = 0;
  nextVni = 100;
  alarmList: Alarm[] = [];
  /** When set, endpoint upserts stay "on the disk" until it resolves (a slow fsync). */
  disk: Promise<void> | undefined;
  constructor(readonly hostId = 'h1', readonly vtep = '192.168.100.1') {}

  #now(): string {
    return new Date().toISOString();
  }
  tenants(): Tenant[] {
    return [...this.t.values()];
  }
  tenant(name: string): Tenant | undefined {
    return this.t.get(name);
  }
  async createTenant(input: TenantInput): Promise<Tenant> {
    await tick();
    if (this.t.has(input.name)) throw new NamedError('ConflictError', `tenant "${input.name}" already exists`);
    const t: Tenant = { ...input, createdAt: this.#now(), updatedAt: this.#now() };
    this.t.set(t.name, t);
    return t;
  }
  async deleteTenant(name: string): Promise<void> {
    await tick();
    if (!this.t.has(name)) throw new NamedError('NotFoundError', `tenant "${name}" does not exist`);
    if ([...this.n.values()].some((n) => n.tenant === name)) throw new NamedError('ConflictError', `tenant "${name}" still has networks; delete them first`);
    this.t.delete(name);
  }
  networks(filter?: { tenant?: string }): Network[] {
    return [...this.n.values()].filter((n) => !filter?.tenant || n.tenant === filter.tenant);
  }
  network(tenant: string, name: string): Network | undefined {
    return this.n.get(`${tenant}/${name}`);
  }
  async createNetwork(input: NetworkInput): Promise<Network> {
    await tick();
    if (!this.t.has(input.tenant)) throw new NamedError('NotFoundError', `tenant "${input.tenant}" does not exist`);
    const key = `${input.tenant}/${input.name}`;
    if (this.n.has(key)) throw new NamedError('ConflictError', `network "${key}" already exists`);
    const used = new Set([...this.n.values()].map((n) => n.vni));
    if (input.vni !== undefined && used.has(input.vni)) throw new NamedError('ConflictError', `VNI ${input.vni} is taken`);
    let vni = input.vni;
    if (vni === undefined) {
      while (used.has(this.nextVni)) this.nextVni++;
      vni = this.nextVni++;
    }
    const n: Network = {
      name: input.name,
      tenant: input.tenant,
      vni,
      cidrs: input.cidrs,
      ...(input.gateway ? { gateway: input.gateway } : {}),
      encap: input.encap ?? 'vxlan',
      createdAt: this.#now(),
      updatedAt: this.#now(),
    };
    this.n.set(key, n);
    return n;
  }
  async deleteNetwork(tenant: string, name: string): Promise<void> {
    await tick();
    const key = `${tenant}/${name}`;
    if (!this.n.has(key)) throw new NamedError('NotFoundError', `network "${key}" does not exist`);
    if ([...this.e.values()].some((e) => e.network === key)) throw new NamedError('ConflictError', `network "${key}" still has endpoints`);
    this.n.delete(key);
  }
  endpoints(filter?: EndpointFilter): Endpoint[] {
    return [...this.e.values()].filter(
      (e) =>
        (!filter?.tenant || e.network.startsWith(`${filter.tenant}/`)) &&
        (!filter?.network || e.network === filter.network) &&
        (!filter?.hostId || e.hostId === filter.hostId),
    );
  }
  // Applies in memory before its promise (as the registry does, and RegistryPort requires), then waits
  // a turn for the "disk".
  async upsertLocalEndpoint(input: LocalEndpointInput): Promise<{ endpoint: Endpoint; created: boolean }> {
    if (!this.n.has(input.network)) throw new NamedError('NotFoundError', `network "${input.network}" does not exist`);
    for (const other of this.e.values()) {
      if (other.network === input.network && other.mac !== input.mac) {
        const ip = input.ips.find((i) => other.ips.includes(i));
        if (ip) throw new NamedError('ConflictError', `IP ${ip} of network ${input.network} is held by ${other.mac} on host ${other.hostId}`, other);
      }
    }
    const key = endpointKey(input);
    const old = this.e.get(key);
    const now = this.#now();
    const endpoint: Endpoint = {
      network: input.network,
      mac: input.mac,
      ips: input.ips,
      port: input.port,
      hostId: this.hostId,
      vtep: this.vtep,
      seq: old ? old.seq + (old.hostId === this.hostId ? 0 : 1) : 0,
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
    };
    this.e.set(key, endpoint);
    this.writes++;
    await (this.disk ?? tick());
    return { endpoint, created: !old };
  }
  async deleteLocalEndpoint(network: string, mac: string): Promise<void> {
    await tick();
    if (!this.e.delete(`${network}/${mac}`)) throw new NamedError('NotFoundError', `endpoint "${network}/${mac}" does not exist`);
  }
  stats(): RegistryStats {
    return { tenants: this.t.size, networks: this.n.size, endpoints: this.e.size, localEndpoints: this.endpoints({ hostId: this.hostId }).length };
  }
  alarms(): Alarm[] {
    return this.alarmList;
  }
  clearAlarm(id: string): void {
    const before = this.alarmList.length;
    this.alarmList = this.alarmList.filter((a) => a.id !== id);
    if (this.alarmList.length === before) throw new NamedError('NotFoundError', `alarm "${id}" does not exist`);
  }
}

/** A switch that "installs" a key's flows after a short delay, unless disconnected. */
export class FakeSwitch implements FlowsPort, StatusPort, TracePort {
  connected = true;
  desired: FlowView[] = [];
  installed: FlowView[] = [];
  waits: string[] = [];
  bumDrops = new Map<string, number>();
  traces: string[] = [];
  traceOutput = '';
  errors = 0;

  flows(): { desired: FlowView[]; installed: FlowView[] } {
    return { desired: this.desired, installed: this.installed };
  }
  async waitInstalled(key: string, timeoutMs: number): Promise<InstallOutcome> {
    this.waits.push(key);
    if (!this.connected) {
      await new Promise((r) => setTimeout(r, Math.min(timeoutMs, 50)));
      return { installed: false, reason: `the switch did not confirm the flows within ${timeoutMs} ms` };
    }
    await new Promise((r) => setTimeout(r, 2));
    return { installed: true };
  }
  ready(): boolean {
    return this.connected;
  }
  readonly durations = new Histogram(RECONCILE_BUCKETS);
  reconcileDurations(): Histogram {
    return this.durations;
  }
  status(): SwitchStatus {
    return {
      connection: { state: this.connected ? 'connected' : 'disconnected', target: 'unix:/tmp/br-int.mgmt', datapathId: '0000000000000001' },
      flows: { desired: this.desired.length, installed: this.installed.length },
      reconcile: { count: 3, lastDurationMs: 12, lastAdded: 2, lastModified: 0, lastDeleted: 1 },
      openflowErrors: { total: this.errors, recent: [] },
      networks: [...this.bumDrops].map(([network, n]) => ({ network, vni: 100, bumDropPackets: n, arpReplies: 7 })),
    };
  }
  traceError: string | undefined;
  trace(flow: string): Promise<string> {
    this.traces.push(flow);
    if (this.traceError) return Promise.reject(new Error(this.traceError));
    return Promise.resolve(this.traceOutput);
  }
}

export class FakeMesh implements MeshPort {
  list: PeerInfo[] = [
    { hostId: 'h2', url: 'wss://10.0.0.2:7471', state: 'established' },
    { hostId: 'h3', url: 'wss://10.0.0.3:7471', state: 'down' },
  ];
  peers(): PeerInfo[] {
    return this.list;
  }
}

export const ADMIN = 'bl.admin.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export interface Harness {
  registry: MemoryRegistry;
  sw: FakeSwitch;
  mesh: FakeMesh;
  options: ApiOptions;
}

export function harness(overrides: Partial<ApiOptions> = {}): Harness {
  const registry = new MemoryRegistry();
  const sw = new FakeSwitch();
  const mesh = new FakeMesh();
  const options: ApiOptions = {
    registry,
    tokens: new MemoryTokenStore(),
    adminToken: ADMIN,
    status: sw,
    flows: sw,
    trace: sw,
    mesh,
    hostId: 'h1',
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    authFailureLimit: { perSecond: 10_000, burst: 10_000 },
    installTimeoutMs: 200,
    ...overrides,
  };
  return { registry, sw, mesh, options };
}

export function testApi(overrides: Partial<ApiOptions> = {}) {
  const h = harness(overrides);
  return { ...h, api: buildApi(h.options) };
}

export async function runningApi(overrides: Partial<ApiOptions> = {}) {
  const h = harness(overrides);
  const api = await startApi({ ...h.options, listen: '127.0.0.1:0' });
  return { ...h, api };
}

/** The API over a real registry node (lmdb store), with a fake switch and mesh. */
export function apiOn(node: TestNode, sw = new FakeSwitch(), extra: Partial<ApiOptions> = {}) {
  return buildApi({
    registry: registryPort(node.registry),
    tokens: registryTokens(node.registry),
    adminToken: ADMIN,
    flows: sw,
    status: sw,
    mesh: new FakeMesh(),
    hostId: node.hostId,
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    installTimeoutMs: 200,
    ...extra,
  });
}
