// The registry: the in-memory view over the durable store, with the ownership and conflict rules of
// docs/mesh-protocol.md. Every mutation (local or from the mesh) goes through one path:
//   apply to memory (synchronously, so the next call sees it) -> recompute the affected part of the
//   active view -> commit the records in one lmdb transaction -> after the fsync, emit 'change'
//   (for the pipeline) and 'replicate' (for the mesh), batched per event-loop turn.
// Nothing is announced before it is durable: a host that crashed after announcing an uncommitted
// record could reuse its counter for a different change and peers would skip it as already seen.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ClockSkewError, ConflictError, FrozenError, NotFoundError, QuotaError, RegistryStoreFailedError, ValidationError } from './errors.js';
import { HybridClock, compareHlc, systemClock } from './hlc.js';
import type { Clock } from './hlc.js';
import { compareIpv4, ipInCidr } from './ip.js';
import type {
  Endpoint,
  EndpointRecord,
  Hlc,
  Network,
  NetworkRecord,
  ReplicatedRecord,
  Tenant,
  TenantRecord,
  TenantToken,
  TokenRecord,
  VersionVector,
} from './model.js';
import {
  Cidr,
  Encap,
  IpAddr,
  Mac,
  Name,
  TenantToken as TenantTokenSchema,
  Vni,
  endpointKey,
  endpointRecordKey,
  expectedRecordKey,
  networkRecordKey,
  tenantRecordKey,
  tokenRecordKey,
} from './model.js';
import type { CommitBatch, Store } from './store.js';
import { flatString } from '../util/flat.js';

// ---------------------------------------------------------------- public types

export interface ActiveEndpoint extends Endpoint {
  /** The owning host is unreachable; kept for the graceful-restart window (data plane keeps working). */
  stale: boolean;
}

export interface NetworkView extends Network {
  /** Set when another network holds this VNI by an older claim: this one is not forwarded. */
  vniConflictWith?: string;
}

export type RegistryChange =
  | { kind: 'tenant'; key: string; before?: Tenant; after?: Tenant }
  | { kind: 'network'; key: string; before?: Network; after?: Network }
  | { kind: 'endpoint'; key: string; before?: ActiveEndpoint; after?: ActiveEndpoint };

export interface ReplicateBatch {
  records: ReplicatedRecord[];
  /** This node's committed version vector after these records. */
  vv: VersionVector;
}

export interface Alarm {
  id: string;
  kind: 'duplicate-mac' | 'vni-conflict' | 'store-failed';
  key: string;
  since: string;
  message: string;
  /** The agent that raised it: duplicate detection, freezing and clearing are local to each agent. */
  raisedBy: string;
}

export interface RegistrySnapshot {
  hostId: string;
  vtep: string;
  networks: Network[];
  endpoints: ActiveEndpoint[];
}

export interface RegistryStats {
  tenants: number;
  networks: number;
  endpoints: { active: number; local: number; remote: number; stale: number };
  records: number;
  tombstones: number;
  alarms: number;
  /** Remote batches refused because a record's HLC was too far ahead of our clock (since start). */
  clockSkewRejected: number;
  /**
   * Remote records ignored because their key is absent and our vector already covers their dot
   * (a deletion whose tombstone was collected). Expected to stay near 0; a rise without deletions
   * points at a vector that claimed records it never received (docs/mesh-protocol.md, known issues).
   */
  coveredDropped: number;
  staleHosts: string[];
  downHosts: string[];
  versionVector: VersionVector;
}

export interface EndpointFilter {
  network?: string;
  tenant?: string;
  hostId?: string;
  mac?: string;
  local?: boolean;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RegistryOptions {
  store: Store;
  hostId: string;
  vtep: string;
  clock?: Clock;
  log?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** How long a lost peer's endpoints stay (as stale) before they are withdrawn. Default 120 s. */
  gracefulRestartMs?: number;
  /** How long a tombstone is kept. Default 24 h; peers offline longer get a full resync. */
  tombstoneTtlMs?: number;
  /** Duplicate detection: more than `moves` moves within `windowMs` freezes the MAC. Default 5 / 180 s. */
  duplicate?: { moves: number; windowMs: number };
  /** A remote record whose HLC wall time is more than this ahead of our clock is refused. Default 60 s. */
  maxClockSkewMs?: number;
  /** Timer functions for the graceful-restart sweep; default the global ones (unref'd). */
  timers?: Timers;
  /**
   * Port names on this host's bridge that no endpoint may use, each with what it is (the agent
   * passes its tunnel port and the bridge's own LOCAL port): a local endpoint there would let
   * tunnel frames, or the host's stack, into a tenant network.
   */
  reservedPorts?: Iterable<readonly [name: string, what: string]>;
}

export const TenantInput = z.object({
  name: Name,
  displayName: z.string().max(200).optional(),
  quota: z.object({ networks: z.number().int().nonnegative(), endpoints: z.number().int().nonnegative() }).partial().optional(),
});
export type TenantInput = z.infer<typeof TenantInput>;

export const NetworkInput = z.object({
  tenant: Name,
  name: Name,
  vni: Vni.optional(),
  cidrs: z.array(Cidr).min(1).max(8),
  gateway: IpAddr.optional(),
  encap: Encap.optional(),
});
export type NetworkInput = z.infer<typeof NetworkInput>;

export const EndpointInput = z.object({
  network: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, '"<tenant>/<network>"'),
  mac: Mac,
  ips: z.array(IpAddr).min(1).max(16),
  port: z.string().min(1).max(15),
});
export type EndpointInput = z.input<typeof EndpointInput>;

/** A new tenant token (its hash): the registry binds it to the tenant's current incarnation. */
export const TokenInput = TenantTokenSchema.omit({ tenantCreatedAt: true });
export type TokenInput = z.infer<typeof TokenInput>;

// ---------------------------------------------------------------- helpers

const VNI_MAX = 16777215;
const HOUSEKEEPING_MS = 3600_000;

/**
 * A free VNI for a new network: a hash of `seed` (e.g. "tenant/name") probed linearly. Hashing
 * instead of "next free" makes two agents that create different networks at the same time
 * unlikely to pick the same VNI; if they do, the VNI-conflict rule resolves it.
 */
export function allocateVni(used: ReadonlySet<number>, seed: string): number {
  if (used.size >= VNI_MAX) throw new QuotaError('all 16777215 VNIs are in use');
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  let vni = (h % VNI_MAX) + 1;
  while (used.has(vni)) vni = (vni % VNI_MAX) + 1;
  return vni;
}

/** RFC 1982 serial-number order on 32-bit MAC-mobility sequence numbers: is a newer than b? */
export function seqNewer(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

/**
 * RFC 7432 s.15 best path: higher sequence number wins (wrap-around safe); on equal numbers the
 * lower VTEP IP wins; the same VTEP re-announcing is ordered by HLC.
 */
export function endpointBeats(a: EndpointRecord, b: EndpointRecord): boolean {
  const c = compareEndpointValues(a.value, b.value);
  if (c !== 0) return c < 0;
  return compareHlc(a.hlc, b.hlc) > 0;
}

/**
 * The part of endpointBeats that needs only the endpoint values (the pipeline uses it, so the
 * switch and the registry pick the same copy): negative when a wins, positive when b wins, 0 when
 * sequence number, VTEP and host are all equal.
 */
export function compareEndpointValues(a: Pick<Endpoint, 'seq' | 'vtep' | 'hostId'>, b: Pick<Endpoint, 'seq' | 'vtep' | 'hostId'>): number {
  if (a.seq !== b.seq) {
    if (seqNewer(a.seq, b.seq)) return -1;
    if (seqNewer(b.seq, a.seq)) return 1;
  }
  const v = compareIpv4(a.vtep, b.vtep);
  if (v !== 0) return v;
  return a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0;
}

/** A record version's identity, "origin:counter" (what pruneAfterFullSync compares). */
export function recordDot(r: Pick<ReplicatedRecord, 'origin' | 'counter'>): string {
  return `${r.origin}:${r.counter}`;
}

/** LWW by HLC; on an equal HLC (the same version) a tombstone beats the live copy. */
export function supersedes(a: ReplicatedRecord, b: ReplicatedRecord): boolean {
  const c = compareHlc(a.hlc, b.hlc);
  return c > 0 || (c === 0 && !!a.deleted && !b.deleted);
}

function hostRecord(records: readonly EndpointRecord[] | undefined, hostId: string): EndpointRecord | undefined {
  return records?.find((r) => r.value.hostId === hostId);
}

function bestEndpoint(candidates: EndpointRecord[]): EndpointRecord | undefined {
  // The usual case (one host announces the MAC) without the copy and sort.
  if (candidates.length <= 1) return candidates[0];
  // Serial order is not transitive over the whole 32-bit circle; a fixed fold order keeps the
  // choice identical on every node even then.
  const sorted = [...candidates].sort((a, b) => compareIpv4(a.value.vtep, b.value.vtep) || (a.value.hostId < b.value.hostId ? -1 : 1));
  let best: EndpointRecord | undefined;
  for (const c of sorted) if (!best || endpointBeats(c, best)) best = c;
  return best;
}

/** "<tenant>" of "<tenant>/<network>". */
function tenantOfNetwork(network: string): string {
  const i = network.indexOf('/');
  return i < 0 ? network : network.slice(0, i);
}

function networkOfEpKey(epKey: string): string {
  const i = epKey.lastIndexOf('/');
  return epKey.slice(0, i);
}

function zodIssues(err: z.ZodError): Array<{ path: string; message: string }> {
  return err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

function parseInput<T extends z.ZodType>(schema: T, input: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issues = zodIssues(r.error);
    throw new ValidationError(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, issues);
  }
  return r.data;
}

/** Who holds a local port, as the registration checks see it (see localPortHolders). */
interface PortHolders {
  get(port: string): { key: string; view?: ActiveEndpoint } | undefined;
  set(port: string, holder: { key: string; view?: ActiveEndpoint }): void;
}

interface Tx {
  puts: Map<string, ReplicatedRecord>;
  removes: Set<string>;
  touched: Set<string>;
  networksTouched: boolean;
  events: RegistryChange[];
  vv: VersionVector;
  meta: Record<string, unknown>;
}

interface ActiveEntry {
  record: EndpointRecord;
  /** Kept, not made per read: the pipeline caches each endpoint's flows by this object. */
  view: ActiveEndpoint;
}

/**
 * The API view of an endpoint record. Written out field by field: a spread copy of a value parsed
 * from JSON took ~270 B, this object ~110 B (bench B4, 100,000 endpoints).
 */
function activeView(v: Endpoint, stale: boolean): ActiveEndpoint {
  return { network: v.network, mac: v.mac, ips: v.ips, hostId: v.hostId, vtep: v.vtep, port: v.port, seq: v.seq, createdAt: v.createdAt, updatedAt: v.updatedAt, stale };
}

interface Frozen {
  hostId: string;
  since: number;
}

const silentLog = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as NonNullable<RegistryOptions['log']>;

// ---------------------------------------------------------------- the registry

export class Registry {
  readonly hostId: string;
  readonly vtep: string;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: NonNullable<RegistryOptions['log']>;
  private readonly hlc: HybridClock;
  private readonly grMs: number;
  private readonly tombstoneTtlMs: number;
  private readonly dup: { moves: number; windowMs: number };
  private readonly reservedPorts: ReadonlyMap<string, string>;
  private readonly maxSkewMs: number;
  private clockSkewRejected = 0;
  private coveredDropped = 0;
  private readonly timers: Timers;
  // One 'replicate' listener per mesh session: a full mesh of 20 agents has 19, a reflector one per
  // client, so Node's default warning at 11 listeners would flag a normal cluster as a leak.
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  private readonly records = new Map<string, ReplicatedRecord>();
  private readonly tenantRecs = new Map<string, TenantRecord>();
  private readonly netRecs = new Map<string, NetworkRecord>();
  /** Token records (live and revoked) by token id. */
  private readonly tokenRecs = new Map<string, TokenRecord>();
  // Per endpoint key, the records of the hosts announcing it: almost always one, so a short array
  // (a Map per endpoint cost ~130 B more each at 100,000 endpoints, bench B4).
  private readonly epRecs = new Map<string, EndpointRecord[]>();
  private readonly epKeysByNet = new Map<string, Set<string>>();
  private readonly epKeysByHost = new Map<string, Set<string>>();

  private activeTenants = new Map<string, TenantRecord>();
  private activeNets = new Map<string, NetworkRecord>();
  private netConflicts = new Map<string, string>();
  private readonly activeEps = new Map<string, ActiveEntry>();
  /** Network -> IP -> endpoint key (nested so the key is the record's own IP string, not a copy). */
  private readonly ipIndex = new Map<string, Map<string, string>>();
  /** The last timestamp text and each host's VTEP text seen, shared by records that repeat them (bench B4). */
  private lastStamp = '';
  private readonly vtepTexts = new Map<string, string>();
  private readonly epCountByTenant = new Map<string, number>();
  // Counted as the maps change, so that stats() (GET /v1/status, polled during a sync) costs O(1)
  // instead of two walks over 100,000 entries.
  private activeLocal = 0;
  private activeStale = 0;
  private tombstoneCount = 0;
  /**
   * Port name -> key of this host's active endpoint on it, kept as activeEps changes (a registration
   * checked its port against a map rebuilt from every local endpoint: O(local endpoints) per call).
   * Ports held twice (only possible in data from before the one-port rule) keep the others here.
   */
  private readonly localPorts = new Map<string, string>();
  private readonly localPortsExtra = new Map<string, Set<string>>();

  private readonly vv: VersionVector;
  private readonly committedVv: VersionVector;
  private gcFloor: VersionVector;
  private readonly pending = new Map<string, number>();
  private readonly staleHosts = new Map<string, number>();
  private readonly downHosts = new Set<string>();
  private readonly frozen: Map<string, Frozen>;
  private readonly moves = new Map<string, number[]>();

  private chain: Promise<void> = Promise.resolve();
  private readyEvents: RegistryChange[] = [];
  private readyRecords: ReplicatedRecord[] = [];
  private readyVv: VersionVector | undefined;
  private emitScheduled = false;
  private sweepTimer: unknown;
  private sweepAt = Infinity;
  private closed = false;
  /** Set by the first failed commit: from then on nothing is committed or announced (fail-stop). */
  private storeFailed: RegistryStoreFailedError | undefined;

  private constructor(opts: RegistryOptions) {
    this.store = opts.store;
    this.hostId = Name.parse(opts.hostId);
    this.vtep = opts.vtep;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLog;
    this.grMs = opts.gracefulRestartMs ?? 120_000;
    this.tombstoneTtlMs = opts.tombstoneTtlMs ?? 24 * 3600_000;
    this.dup = opts.duplicate ?? { moves: 5, windowMs: 180_000 };
    this.reservedPorts = new Map(opts.reservedPorts ?? []);
    this.maxSkewMs = opts.maxClockSkewMs ?? 60_000;
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    this.vv = this.store.loadVv();
    this.committedVv = { ...this.vv };
    this.gcFloor = this.store.getMeta<VersionVector>('gcFloor') ?? {};
    const frozen = this.store.getMeta<Array<[string, Frozen]>>('frozen') ?? [];
    this.frozen = new Map(frozen);
    let last: Hlc | undefined = this.store.getMeta<Hlc>('hlc');
    for (const r of this.store.loadRecords()) {
      this.index(r);
      // Numbering continues after every durable record of ours, even one the stored vector missed.
      if (r.origin === this.hostId && r.counter > (this.vv[this.hostId] ?? 0)) this.vv[this.hostId] = this.committedVv[this.hostId] = r.counter;
      if (!last || compareHlc(r.hlc, last) > 0) last = r.hlc;
    }
    this.hlc = new HybridClock(this.hostId, this.clock, last ? { ...last, node: this.hostId } : undefined);
    const tx = this.begin();
    // A host's live endpoint records carry its current VTEP (peers check them against our OPEN), so
    // after a change of vtepIp our own ones are re-announced with the new address.
    for (const k of this.epKeysByHost.get(this.hostId) ?? []) {
      const own = hostRecord(this.epRecs.get(k), this.hostId);
      if (!own || own.deleted || own.value.vtep === this.vtep) continue;
      const value: Endpoint = { ...own.value, vtep: this.vtep, updatedAt: this.isoNow() };
      this.putRecord(tx, this.stampLocal({ kind: 'endpoint', key: own.key, value }));
    }
    this.recomputeNetworks(tx);
    for (const k of this.epRecs.keys()) tx.touched.add(k);
    this.recomputeTouched(tx);
    // Loading is not a change; withdrawals found while loading (a superseded own entry) still commit.
    tx.events = [];
    if (tx.puts.size) this.finish(tx).catch(() => {}); // logged in finish()
    this.scheduleSweep(Math.min(HOUSEKEEPING_MS, this.tombstoneTtlMs));
  }

  static open(opts: RegistryOptions): Registry {
    return new Registry(opts);
  }

  // ---------------------------------------------------------------- events

  on(event: 'change', fn: (changes: RegistryChange[]) => void): this;
  on(event: 'replicate', fn: (batch: ReplicateBatch) => void): this;
  on(event: 'alarm', fn: (alarm: Alarm) => void): this;
  /** The store failed a commit; emitted once (see storeFailure()). */
  on(event: 'failed', fn: (err: RegistryStoreFailedError) => void): this;
  on(event: string, fn: (arg: never) => void): this {
    this.emitter.on(event, fn as (...args: unknown[]) => void);
    return this;
  }

  off(event: 'change' | 'replicate' | 'alarm' | 'failed', fn: (arg: never) => void): this {
    this.emitter.off(event, fn as (...args: unknown[]) => void);
    return this;
  }

  /**
   * Why this registry refuses writes: a commit failed (disk full, I/O error), so memory may hold
   * writes that are not durable. Until the agent restarts, writes reject with this error, nothing
   * more is committed or announced, and reads answer from memory.
   */
  storeFailure(): RegistryStoreFailedError | undefined {
    return this.storeFailed;
  }

  private assertWritable(): void {
    if (this.storeFailed) throw this.storeFailed;
  }

  /** Resolves when every mutation issued so far is committed and its events emitted. */
  async settled(): Promise<void> {
    await this.chain;
    await new Promise<void>((r) => setImmediate(r));
  }

  // ---------------------------------------------------------------- tenants

  async createTenant(input: TenantInput): Promise<Tenant> {
    const t = parseInput(TenantInput, input, 'tenant');
    const existing = this.tenantRecs.get(t.name);
    if (existing && !existing.deleted) throw new ConflictError(`tenant "${t.name}" already exists`);
    const now = this.isoNow();
    const value: Tenant = { ...t, createdAt: now, updatedAt: now };
    await this.writeLocal({ kind: 'tenant', key: tenantRecordKey(t.name), value });
    return value;
  }

  async updateTenant(name: string, patch: Partial<Omit<TenantInput, 'name'>>): Promise<Tenant> {
    const cur = this.activeTenants.get(name);
    if (!cur) throw new NotFoundError('tenant', name);
    const t = parseInput(TenantInput, { ...cur.value, ...patch, name }, 'tenant');
    const value: Tenant = { ...cur.value, ...t, updatedAt: this.isoNow() };
    await this.writeLocal({ kind: 'tenant', key: cur.key, value });
    return value;
  }

  async deleteTenant(name: string): Promise<void> {
    this.assertWritable();
    const cur = this.activeTenants.get(name);
    if (!cur) throw new NotFoundError('tenant', name);
    const nets = [...this.netRecs.values()].filter((n) => !n.deleted && n.value.tenant === name);
    if (nets.length) throw new ConflictError(`tenant "${name}" still has ${nets.length} network(s); delete them first`);
    // Its tokens are revoked in the same transaction, so every agent sees both or neither. A token
    // made concurrently elsewhere stays live but is inert: it names a tenant incarnation that is gone.
    const tx = this.begin();
    this.putRecord(tx, this.stampLocal({ kind: 'tenant', key: cur.key, value: cur.value, deleted: true }));
    for (const t of this.tokenRecs.values()) {
      if (!t.deleted && t.value.tenant === name) this.putRecord(tx, this.stampLocal({ kind: 'token', key: t.key, value: t.value, deleted: true }));
    }
    await this.finish(tx);
  }

  tenants(): Tenant[] {
    return [...this.activeTenants.values()].map((r) => r.value);
  }

  tenant(name: string): Tenant | undefined {
    return this.activeTenants.get(name)?.value;
  }

  // ---------------------------------------------------------------- tenant tokens

  /**
   * Stores a tenant token's hash; it replicates to every agent. A ConflictError when the id is
   * taken, also by a revoked token (a revocation never comes undone).
   */
  async createToken(input: TokenInput): Promise<TenantToken> {
    const t = parseInput(TokenInput, input, 'token');
    const tenant = this.activeTenants.get(t.tenant);
    if (!tenant) throw new NotFoundError('tenant', t.tenant);
    const existing = this.tokenRecs.get(t.id);
    if (existing) throw new ConflictError(existing.deleted ? `token ${t.id} was revoked; a revoked token cannot be installed again` : `token ${t.id} already exists`);
    const value: TenantToken = { ...t, tenantCreatedAt: tenant.value.createdAt };
    await this.writeLocal({ kind: 'token', key: tokenRecordKey(t.id), value });
    return value;
  }

  /** Revokes a token on every agent (a tombstone that is never collected). */
  async revokeToken(id: string): Promise<void> {
    const cur = this.tokenRecs.get(id);
    if (!cur || !this.tokenActive(cur)) throw new NotFoundError('token', id);
    await this.writeLocal({ kind: 'token', key: cur.key, value: cur.value, deleted: true });
  }

  /** A valid token: not revoked, and its tenant lives in the incarnation the token was made for. */
  token(id: string): TenantToken | undefined {
    const r = this.tokenRecs.get(id);
    return r && this.tokenActive(r) ? r.value : undefined;
  }

  tokens(tenant?: string): TenantToken[] {
    const out: TenantToken[] = [];
    for (const r of this.tokenRecs.values()) if (this.tokenActive(r) && (tenant === undefined || r.value.tenant === tenant)) out.push(r.value);
    return out;
  }

  private tokenActive(r: TokenRecord): boolean {
    return !r.deleted && this.activeTenants.get(r.value.tenant)?.value.createdAt === r.value.tenantCreatedAt;
  }

  // ---------------------------------------------------------------- networks

  async createNetwork(input: NetworkInput): Promise<Network> {
    const n = parseInput(NetworkInput, input, 'network');
    const tenant = this.activeTenants.get(n.tenant);
    if (!tenant) throw new NotFoundError('tenant', n.tenant);
    const key = `${n.tenant}/${n.name}`;
    const existing = this.netRecs.get(key);
    if (existing && !existing.deleted) throw new ConflictError(`network "${key}" already exists`);
    const quota = tenant.value.quota?.networks;
    const count = [...this.activeNets.values()].filter((r) => r.value.tenant === n.tenant).length;
    if (quota !== undefined && count >= quota) throw new QuotaError(`tenant "${n.tenant}" has reached its quota of ${quota} networks`);
    const used = new Set([...this.netRecs.values()].filter((r) => !r.deleted).map((r) => r.value.vni));
    if (n.vni !== undefined && used.has(n.vni)) {
      const holder = [...this.netRecs.values()].find((r) => !r.deleted && r.value.vni === n.vni);
      throw new ConflictError(`VNI ${n.vni} is already used by network "${holder?.value.tenant}/${holder?.value.name}"; choose another or omit it`);
    }
    if (n.gateway !== undefined && !n.cidrs.some((c) => ipInCidr(n.gateway!, c))) {
      throw new ValidationError(`gateway ${n.gateway} is not inside ${n.cidrs.join(', ')}`, [{ path: 'gateway', message: 'not inside the network\'s CIDRs' }]);
    }
    const now = this.isoNow();
    const value: Network = {
      name: n.name,
      tenant: n.tenant,
      vni: n.vni ?? allocateVni(used, key),
      cidrs: n.cidrs,
      ...(n.gateway !== undefined ? { gateway: n.gateway } : {}),
      encap: n.encap ?? 'vxlan',
      createdAt: now,
      updatedAt: now,
    };
    await this.writeLocal({ kind: 'network', key: networkRecordKey(key), value });
    return value;
  }

  async deleteNetwork(tenant: string, name: string): Promise<void> {
    const key = `${tenant}/${name}`;
    const cur = this.netRecs.get(key);
    if (!cur || cur.deleted) throw new NotFoundError('network', key);
    const eps = this.epKeysByNet.get(key);
    const active = eps ? [...eps].filter((k) => this.activeEps.has(k)).length : 0;
    if (active) throw new ConflictError(`network "${key}" still has ${active} endpoint(s); delete them first`);
    await this.writeLocal({ kind: 'network', key: cur.key, value: cur.value, created: cur.created, deleted: true });
  }

  /** Live networks of live tenants, including those that lost a VNI conflict (flagged). */
  networks(tenant?: string): NetworkView[] {
    const out: NetworkView[] = [];
    for (const [k, r] of this.netRecs) {
      if (r.deleted || !this.activeTenants.has(r.value.tenant)) continue;
      if (tenant !== undefined && r.value.tenant !== tenant) continue;
      const c = this.netConflicts.get(k);
      out.push(c ? { ...r.value, vniConflictWith: c } : r.value);
    }
    return out;
  }

  network(tenant: string, name: string): NetworkView | undefined {
    return this.networks(tenant).find((n) => n.name === name);
  }

  // ---------------------------------------------------------------- endpoints

  /**
   * Registers or updates an endpoint on this host. Resolves once the record is durable. The same
   * MAC on another host is a move (the sequence number goes past theirs); an IP of the network
   * held by another MAC is a ConflictError naming the holder.
   */
  async upsertLocalEndpoint(input: EndpointInput): Promise<{ endpoint: Endpoint; created: boolean }> {
    const [r] = await this.upsertLocalEndpoints([input]);
    return r!;
  }

  /** Bulk form: validates all inputs first, then writes them in one transaction. */
  async upsertLocalEndpoints(inputs: EndpointInput[]): Promise<Array<{ endpoint: Endpoint; created: boolean }>> {
    this.assertWritable();
    const tx = this.begin();
    const results: Array<{ endpoint: Endpoint; created: boolean }> = [];
    const claimed = new Map<string, string>();
    const portHolders = this.localPortHolders();
    const planned: Endpoint[] = [];
    for (const [i, raw] of inputs.entries()) {
      const e = parseInput(EndpointInput, raw, inputs.length > 1 ? `endpoint #${i}` : 'endpoint');
      const net = this.activeNets.get(e.network);
      if (!net) throw new NotFoundError('network', e.network);
      const bad = e.ips.map((ip, j) => ({ ip, j })).filter(({ ip }) => !net.value.cidrs.some((c) => ipInCidr(ip, c)));
      if (bad.length) {
        const where = inputs.length > 1 ? { msg: `endpoint #${i}: `, path: `${i}.` } : { msg: '', path: '' };
        throw new ValidationError(
          `${where.msg}IP ${bad.map((b) => b.ip).join(', ')} not inside network ${e.network} (${net.value.cidrs.join(', ')})`,
          bad.map((b) => ({ path: `${where.path}ips.${b.j}`, message: `not inside ${net.value.cidrs.join(', ')}` })),
        );
      }
      const epKey = endpointKey(e);
      const tenant = tenantOfNetwork(e.network);
      const quota = this.activeTenants.get(tenant)?.value.quota?.endpoints;
      if (quota !== undefined && !this.activeEps.has(epKey) && (this.epCountByTenant.get(tenant) ?? 0) + planned.length >= quota) {
        throw new QuotaError(`tenant "${tenant}" has reached its quota of ${quota} endpoints`);
      }
      const fz = this.frozen.get(epKey);
      if (fz && fz.hostId !== this.hostId) throw new FrozenError(epKey, `duplicate-mac:${epKey}`);
      for (const ip of e.ips) {
        const holderKey = this.ipIndex.get(e.network)?.get(ip) ?? claimed.get(`${e.network}|${ip}`);
        if (holderKey !== undefined && holderKey !== epKey) {
          const holder = this.activeEps.get(holderKey)?.view;
          throw new ConflictError(`IP ${ip} in network ${e.network} is already held by MAC ${holder?.mac ?? holderKey.split('/').pop()} on host ${holder?.hostId ?? '?'}`, holder);
        }
        claimed.set(`${e.network}|${ip}`, epKey);
      }
      this.checkLocalPort(e, epKey, tenant, portHolders, inputs.length > 1 ? i : undefined);
      const entries = this.epRecs.get(epKey);
      const own = hostRecord(entries, this.hostId);
      const ownLive = own && !own.deleted ? own : undefined;
      const others = (entries ?? []).filter((x) => x.value.hostId !== this.hostId && !x.deleted);
      const winnerIsOwn = this.activeEps.get(epKey)?.record.value.hostId === this.hostId;
      let seq: number;
      if (ownLive && (winnerIsOwn || others.length === 0)) seq = ownLive.value.seq;
      else if (others.length) {
        let max = others[0]!.value.seq;
        for (const o of others) if (seqNewer(o.value.seq, max)) max = o.value.seq;
        seq = (max + 1) >>> 0;
      } else seq = own?.value.seq ?? 0;
      const now = this.isoNow();
      const ips = [...new Set(e.ips)];
      if (
        ownLive &&
        ownLive.value.seq === seq &&
        ownLive.value.port === e.port &&
        ownLive.value.vtep === this.vtep &&
        ownLive.value.ips.length === ips.length &&
        ownLive.value.ips.every((x, j) => x === ips[j])
      ) {
        results.push({ endpoint: ownLive.value, created: false });
        continue;
      }
      const value: Endpoint = {
        network: e.network,
        mac: e.mac,
        ips,
        hostId: this.hostId,
        vtep: this.vtep,
        port: e.port,
        seq,
        createdAt: ownLive?.value.createdAt ?? now,
        updatedAt: now,
      };
      planned.push(value);
      results.push({ endpoint: value, created: !ownLive });
    }
    // Counters are taken only once every input is valid, so a rejected batch leaves no gap.
    for (const value of planned) this.putRecord(tx, this.stampLocal({ kind: 'endpoint', key: endpointRecordKey(value), value }));
    if (!planned.length) {
      // Idempotent repeat: acknowledge only once any earlier write of these entries is durable. The
      // chain swallows failures; a failed commit among them has failed the registry by now.
      await this.chain;
      this.assertWritable();
      return results;
    }
    await this.finish(tx);
    return results;
  }

  /**
   * Port name -> the active endpoint of this host on it (its key, and its view once committed): the
   * index, overlaid with the ports claimed earlier in the same batch.
   */
  private localPortHolders(): PortHolders {
    const claimed = new Map<string, { key: string; view?: ActiveEndpoint }>();
    return {
      get: (port) => {
        const c = claimed.get(port);
        if (c !== undefined) return c;
        const key = this.localPorts.get(port);
        return key === undefined ? undefined : { key, view: this.activeEps.get(key)?.view };
      },
      set: (port, holder) => void claimed.set(port, holder),
    };
  }

  private holdLocalPort(port: string, key: string): void {
    const cur = this.localPorts.get(port);
    if (cur === undefined || cur === key) {
      this.localPorts.set(port, key);
      return;
    }
    let extra = this.localPortsExtra.get(port);
    if (!extra) this.localPortsExtra.set(port, (extra = new Set()));
    extra.add(key);
  }

  private releaseLocalPort(port: string, key: string): void {
    const extra = this.localPortsExtra.get(port);
    if (this.localPorts.get(port) === key) {
      const next = extra?.values().next().value;
      if (next === undefined) this.localPorts.delete(port);
      else this.localPorts.set(port, next);
      extra?.delete(next!);
    } else extra?.delete(key);
    if (extra && extra.size === 0) this.localPortsExtra.delete(port);
  }

  /**
   * One local port, one endpoint: a second endpoint on a held port (any network, any MAC) would
   * join the container behind it to a second network. The same endpoint re-registered is not a
   * second one. Another tenant's holder is not named: its MAC and network are not the caller's to
   * see. Claims the port in `holders` for the rest of the batch.
   */
  private checkLocalPort(e: { port: string }, epKey: string, tenant: string, holders: PortHolders, index?: number): void {
    const where = index !== undefined ? { msg: `endpoint #${index}: `, path: `${index}.port` } : { msg: '', path: 'port' };
    const reserved = this.reservedPorts.get(e.port);
    if (reserved !== undefined) {
      throw new ValidationError(`${where.msg}port ${e.port} is ${reserved} of host ${this.hostId}, not an endpoint's port; give the name of the interface attached to the bridge for this endpoint`, [
        { path: where.path, message: `reserved: ${reserved}` },
      ]);
    }
    const holder = holders.get(e.port);
    if (holder && holder.key !== epKey) {
      if (holder.key.startsWith(`${tenant}/`)) {
        throw new ConflictError(`${where.msg}port ${e.port} on host ${this.hostId} is in use by endpoint ${holder.key}; delete that endpoint first or use another port`, holder.view);
      }
      throw new ConflictError(`${where.msg}port ${e.port} on host ${this.hostId} is in use; use another port`);
    }
    if (!holder) holders.set(e.port, { key: epKey });
  }

  /** Withdraws this host's endpoint for (network, MAC). */
  async deleteLocalEndpoint(network: string, mac: string): Promise<void> {
    const m = parseInput(Mac, mac, 'MAC');
    const epKey = `${network}/${m}`;
    const own = hostRecord(this.epRecs.get(epKey), this.hostId);
    if (!own || own.deleted) throw new NotFoundError('endpoint', epKey);
    await this.writeLocal({ kind: 'endpoint', key: own.key, value: own.value, deleted: true });
  }

  endpoint(network: string, mac: string): ActiveEndpoint | undefined {
    return this.activeEps.get(`${network}/${mac.toLowerCase()}`)?.view;
  }

  /** Active endpoints of a tenant (what endpoints({ tenant }).length counts), without listing them. */
  endpointCount(tenant: string): number {
    return this.epCountByTenant.get(tenant) ?? 0;
  }

  endpoints(filter: EndpointFilter = {}): ActiveEndpoint[] {
    const out: ActiveEndpoint[] = [];
    const keys = filter.network !== undefined ? (this.epKeysByNet.get(filter.network) ?? new Set<string>()) : this.activeEps.keys();
    // Made once, not per endpoint: a listing walks every active endpoint of the host.
    const tenantPrefix = filter.tenant !== undefined ? `${filter.tenant}/` : undefined;
    const mac = filter.mac?.toLowerCase();
    for (const k of keys) {
      const v = this.activeEps.get(k)?.view;
      if (!v) continue;
      if (tenantPrefix !== undefined && !v.network.startsWith(tenantPrefix)) continue;
      if (filter.hostId !== undefined && v.hostId !== filter.hostId) continue;
      if (mac !== undefined && v.mac !== mac) continue;
      if (filter.local !== undefined && (v.hostId === this.hostId) !== filter.local) continue;
      out.push(v);
    }
    return out;
  }

  /** What the pipeline forwards: active networks (no VNI losers) and their active endpoints. */
  snapshot(): RegistrySnapshot {
    return {
      hostId: this.hostId,
      vtep: this.vtep,
      networks: [...this.activeNets.values()].map((r) => r.value),
      endpoints: [...this.activeEps.values()].map((e) => e.view),
    };
  }

  stats(): RegistryStats {
    const local = this.activeLocal;
    const stale = this.activeStale;
    const tombstones = this.tombstoneCount;
    return {
      tenants: this.activeTenants.size,
      networks: this.activeNets.size,
      endpoints: { active: this.activeEps.size, local, remote: this.activeEps.size - local, stale },
      records: this.records.size,
      tombstones,
      alarms: this.alarms().length,
      clockSkewRejected: this.clockSkewRejected,
      coveredDropped: this.coveredDropped,
      staleHosts: [...this.staleHosts.keys()].sort(),
      downHosts: [...this.downHosts].sort(),
      versionVector: { ...this.committedVv },
    };
  }

  alarms(): Alarm[] {
    const out: Alarm[] = [];
    if (this.storeFailed) {
      out.push({
        id: 'store-failed',
        kind: 'store-failed',
        key: this.storeFailed.dataDir,
        since: this.storeFailed.since,
        raisedBy: this.hostId,
        message: this.storeFailed.message,
      });
    }
    for (const [k, f] of this.frozen) {
      out.push({
        id: `duplicate-mac:${k}`,
        kind: 'duplicate-mac',
        key: k,
        since: new Date(f.since).toISOString(),
        raisedBy: this.hostId,
        message: `MAC ${k} moved more than ${this.dup.moves} times in ${this.dup.windowMs / 1000} s; frozen on host ${f.hostId}`,
      });
    }
    for (const [k, w] of this.netConflicts) {
      const vni = this.netRecs.get(k)?.value.vni;
      out.push({
        id: `vni-conflict:${k}`,
        kind: 'vni-conflict',
        key: k,
        since: new Date(this.netRecs.get(k)?.created.wall ?? 0).toISOString(),
        raisedBy: this.hostId,
        message: `network ${k} claims VNI ${vni}, already held by the older network ${w}; it is not forwarded until renumbered or deleted`,
      });
    }
    return out;
  }

  /** Clears a duplicate-MAC alarm: the MAC is unfrozen and best-path selection resumes. */
  async clearAlarm(id: string): Promise<void> {
    this.assertWritable();
    const m = /^duplicate-mac:(.+)$/.exec(id);
    if (!m?.[1] || !this.frozen.has(m[1])) {
      if (id.startsWith('vni-conflict:')) throw new ConflictError(`alarm "${id}" clears itself once the network is deleted or the older one is gone`);
      throw new NotFoundError('alarm', id);
    }
    this.frozen.delete(m[1]);
    this.moves.delete(m[1]);
    const tx = this.begin();
    tx.meta.frozen = [...this.frozen];
    tx.touched.add(m[1]);
    this.log.info({ key: m[1] }, 'duplicate-MAC alarm cleared');
    await this.finish(tx);
  }

  /**
   * Another host (not `except`, not withdrawn) whose live endpoint records carry `vtep`, or this
   * agent when it is ours: a peer claiming it in its OPEN is refused.
   */
  vtepHolder(vtep: string, except: string): string | undefined {
    if (vtep === this.vtep && except !== this.hostId) return this.hostId;
    for (const [host, keys] of this.epKeysByHost) {
      if (host === except || host === this.hostId || this.downHosts.has(host)) continue;
      for (const k of keys) {
        const r = hostRecord(this.epRecs.get(k), host);
        if (r && !r.deleted && r.value.vtep === vtep) return host;
      }
    }
    return undefined;
  }

  hostState(hostId: string): 'up' | 'stale' | 'down' {
    return this.downHosts.has(hostId) ? 'down' : this.staleHosts.has(hostId) ? 'stale' : 'up';
  }

  /** Hosts that own at least one endpoint record. */
  knownHosts(): string[] {
    return [...this.epKeysByHost.keys()].filter((h) => h !== this.hostId).sort();
  }

  // ---------------------------------------------------------------- replication interface (mesh)

  versionVector(): VersionVector {
    return { ...this.committedVv };
  }

  /**
   * Everything a peer with version vector `peerVv` is missing, from committed state only. When the
   * peer is behind a tombstone that was already collected (`full`), every record is sent and the
   * peer prunes what it holds but we do not (pruneAfterFullSync). Throws RegistryStoreFailedError
   * once the store failed.
   */
  changesSince(peerVv: VersionVector): { records: ReplicatedRecord[]; vv: VersionVector; full: boolean; gcFloor: VersionVector } {
    // A failed registry syncs no peer: memory holds the failed writes in place of the durable
    // versions of their keys, and a snapshot could neither send nor leave them out soundly.
    this.assertWritable();
    const full = Object.entries(this.gcFloor).some(([o, c]) => (peerVv[o] ?? 0) < c);
    const records: ReplicatedRecord[] = [];
    for (const r of this.records.values()) {
      if (this.pending.has(r.key)) continue;
      if (full || r.counter > (peerVv[r.origin] ?? 0)) records.push(r);
    }
    return { records, vv: { ...this.committedVv }, full, gcFloor: { ...this.gcFloor } };
  }

  /**
   * Applies records from a peer. `vouched` is the peer's statement "after these records you hold
   * everything I hold up to this vector" (END_OF_RIB or an UPDATE on an ordered session); it is
   * merged into our vector after the records.
   */
  async applyRemote(records: ReplicatedRecord[], fromPeer: string, vouched?: VersionVector): Promise<{ applied: number; rejected: number }> {
    this.assertWritable();
    // Checked before anything is applied, so a refused batch leaves no trace (and its vouched vector
    // is not merged): the peer resends it on a later session, once the clocks agree.
    for (const r of records) {
      const ahead = this.hlc.aheadOf(r.hlc);
      if (ahead > this.maxSkewMs) {
        this.clockSkewRejected++;
        const err = new ClockSkewError(fromPeer, r.origin, r.key, ahead, this.maxSkewMs);
        this.log.error({ peer: fromPeer, origin: r.origin, key: r.key, aheadMs: ahead, maxClockSkewMs: this.maxSkewMs }, err.message);
        throw err;
      }
    }
    const tx = this.begin();
    let applied = 0;
    let rejected = 0;
    // What our own store knew we had written before this batch: own records above it mean the
    // store was lost or restored from an old copy.
    const ownBefore = this.vv[this.hostId] ?? 0;
    for (const r of records) {
      // Only a host announces its own endpoints; tombstones may come from a host that pruned them.
      if (r.key !== expectedRecordKey(r) || (r.kind === 'endpoint' && !r.deleted && r.origin !== r.value.hostId)) {
        rejected++;
        this.log.warn({ peer: fromPeer, key: r.key, origin: r.origin }, 'rejected a record whose key or origin does not match its value');
        continue;
      }
      const covered = r.origin === this.hostId ? ownBefore : (this.vv[r.origin] ?? 0);
      if (r.origin === this.hostId && r.counter > (this.vv[this.hostId] ?? 0)) {
        // Continue numbering after it so no counter is ever reused.
        this.log.warn({ counter: r.counter, peer: fromPeer }, 'peer holds newer records of this host than the local store; adopting them');
        this.vv[this.hostId] = r.counter;
        tx.vv[this.hostId] = r.counter;
      }
      const existing = this.records.get(r.key);
      if (!existing) {
        // Absent but already covered by our vector: it was deleted and its tombstone collected.
        // Counted and logged so that a vector claiming records it never received shows up.
        if (r.counter <= covered) {
          this.coveredDropped++;
          this.log.debug({ peer: fromPeer, origin: r.origin, key: r.key, counter: r.counter, covered }, 'ignored a record absent here whose dot our vector already covers');
          continue;
        }
      } else if (!supersedes(r, existing)) continue;
      this.hlc.observe(r.hlc);
      this.putRecord(tx, r);
      applied++;
    }
    for (const [o, c] of Object.entries(vouched ?? {})) {
      if (c > (this.vv[o] ?? 0)) {
        this.vv[o] = c;
        tx.vv[o] = c;
      }
    }
    await this.finish(tx);
    return { applied, rejected };
  }

  /**
   * After a full sync: drop records the sender has seen (by its vector) but no longer holds, and
   * take over its collection floor: we now lack those deletions' tombstones too, so peers behind
   * the floor must get a full sync from us as well.
   */
  async pruneAfterFullSync(received: ReadonlyMap<string, string>, senderVv: VersionVector, senderGcFloor: VersionVector = {}): Promise<number> {
    this.assertWritable();
    const tx = this.begin();
    const floor = { ...this.gcFloor };
    let raised = false;
    for (const [o, c] of Object.entries(senderGcFloor)) {
      if (c > (floor[o] ?? 0)) {
        floor[o] = c;
        raised = true;
      }
    }
    if (raised) {
      this.gcFloor = floor;
      tx.meta.gcFloor = floor;
    }
    let n = 0;
    for (const r of [...this.records.values()]) {
      // Also our own origin: a tenant or network we created may have been deleted elsewhere.
      // Kept when the sender holds this very version. When it sent another (older) version of the
      // key although its vector covers ours, it saw ours and deleted it.
      if (r.deleted || received.get(r.key) === recordDot(r) || this.pending.has(r.key)) continue;
      if (r.counter > (senderVv[r.origin] ?? 0)) continue;
      // The deletion's tombstone is gone, so we write one for our peers: our own new dot (so every
      // sync carries it) and the deleted version's HLC (tombstones win HLC ties), which removes
      // exactly that version, or older ones, wherever it still exists, and nothing newer.
      this.putRecord(tx, {
        ...r,
        origin: this.hostId,
        counter: this.nextCounter(),
        deleted: true,
        deletedAt: this.clock.now(),
        prunes: { origin: r.origin, counter: r.counter },
      });
      n++;
    }
    await this.finish(tx);
    return n;
  }

  /** The session that reaches `hostId` is gone: its endpoints become stale for the graceful-restart window. */
  markPeerStale(hostId: string): void {
    if (hostId === this.hostId || this.staleHosts.has(hostId) || this.downHosts.has(hostId)) return;
    const now = this.clock.now();
    this.staleHosts.set(hostId, now);
    this.log.info({ peer: hostId, gracefulRestartMs: this.grMs }, 'peer lost; its endpoints are stale until it returns or the window ends');
    const tx = this.begin();
    for (const k of this.epKeysByHost.get(hostId) ?? []) tx.touched.add(k);
    this.finish(tx).catch(() => {}); // logged in finish()
    this.scheduleSweep(this.grMs);
  }

  /** The peer finished its initial sync: its entries are current again (refreshed or already withdrawn by its tombstones). */
  peerEndOfRib(hostId: string): void {
    if (!this.staleHosts.delete(hostId) && !this.downHosts.delete(hostId)) return;
    this.downHosts.delete(hostId);
    const tx = this.begin();
    for (const k of this.epKeysByHost.get(hostId) ?? []) tx.touched.add(k);
    this.finish(tx).catch(() => {}); // logged in finish()
  }

  /**
   * Housekeeping driven by the clock: withdraws stale peers past the graceful-restart window and
   * collects tombstones past their lifetime. Runs on its own timer; tests call it directly.
   */
  async sweep(): Promise<void> {
    // A failed registry withdraws nothing: our own disk failure is no reason to take a peer's
    // endpoints out of the data plane (its sessions closed because of us), and collection writes.
    if (this.closed || this.storeFailed) return;
    const now = this.clock.now();
    const tx = this.begin();
    for (const [h, since] of this.staleHosts) {
      if (now - since < this.grMs) continue;
      this.staleHosts.delete(h);
      this.downHosts.add(h);
      this.log.warn({ peer: h }, 'graceful-restart window ended; withdrawing the peer\'s endpoints');
      for (const k of this.epKeysByHost.get(h) ?? []) tx.touched.add(k);
    }
    const floor = { ...this.gcFloor };
    for (const r of this.records.values()) {
      if (!this.collectable(r, now)) continue;
      this.removeRecord(tx, r);
      floor[r.origin] = Math.max(floor[r.origin] ?? 0, r.counter);
    }
    if (tx.removes.size) {
      this.gcFloor = floor;
      tx.meta.gcFloor = floor;
    }
    for (const [k, times] of this.moves) {
      const kept = times.filter((t) => now - t < this.dup.windowMs);
      if (kept.length) this.moves.set(k, kept);
      else this.moves.delete(k);
    }
    await this.finish(tx);
    // Stale hosts expire on time; tombstones and move histories are collected at least hourly.
    let next = Math.min(HOUSEKEEPING_MS, this.tombstoneTtlMs);
    for (const since of this.staleHosts.values()) next = Math.min(next, since + this.grMs - now);
    this.scheduleSweep(next);
  }

  /**
   * Whether a tombstone can be forgotten. Once it is gone, only the version vector keeps an older
   * copy of the key out (an absent key with a covered dot is ignored), so:
   * - only endpoint tombstones expire: an endpoint key has one writer, its owner, whose older
   *   versions all carry lower counters; tenant and network keys have many writers and no vector
   *   entry bounds their older versions, so their (few) tombstones are kept;
   * - the vector must cover the tombstone and, for a pruning tombstone, the version it deletes (a
   *   tombstone received in a sync that was cut before its END_OF_RIB is not covered yet).
   */
  private collectable(r: ReplicatedRecord, now: number): boolean {
    if (!r.deleted || r.kind !== 'endpoint' || this.pending.has(r.key)) return false;
    if (now - (r.deletedAt ?? r.hlc.wall) < this.tombstoneTtlMs) return false;
    if (r.counter > (this.committedVv[r.origin] ?? 0)) return false;
    return !r.prunes || r.prunes.counter <= (this.committedVv[r.prunes.origin] ?? 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.timers.clearTimeout(this.sweepTimer);
    await this.chain;
  }

  // ---------------------------------------------------------------- internals

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Arms the housekeeping timer for `ms` from now, unless it is already due sooner. */
  private scheduleSweep(ms: number): void {
    if (this.closed) return;
    const at = this.clock.now() + Math.max(0, ms);
    if (this.sweepTimer !== undefined && this.sweepAt <= at) return;
    if (this.sweepTimer !== undefined) this.timers.clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = this.timers.setTimeout(() => {
      this.sweepTimer = undefined;
      this.sweep().catch((err: unknown) => this.log.error({ err }, 'registry sweep failed'));
    }, Math.max(0, ms) + 10);
  }

  private nextCounter(): number {
    const counter = (this.vv[this.hostId] ?? 0) + 1;
    this.vv[this.hostId] = counter;
    return counter;
  }

  private stampLocal(partial: Omit<ReplicatedRecord, 'origin' | 'counter' | 'hlc' | 'created'> & { created?: Hlc }): ReplicatedRecord {
    const counter = this.nextCounter();
    const hlc = this.hlc.now();
    const rec = { ...partial, origin: this.hostId, counter, hlc, ...(partial.deleted ? { deletedAt: hlc.wall } : {}) } as ReplicatedRecord;
    if (rec.kind === 'network' && !rec.created) rec.created = hlc;
    return rec;
  }

  private async writeLocal(partial: Omit<ReplicatedRecord, 'origin' | 'counter' | 'hlc' | 'created'> & { created?: Hlc }): Promise<void> {
    this.assertWritable();
    const tx = this.begin();
    this.putRecord(tx, this.stampLocal(partial));
    await this.finish(tx);
  }

  private begin(): Tx {
    return { puts: new Map(), removes: new Set(), touched: new Set(), networksTouched: false, events: [], vv: {}, meta: {} };
  }

  /** Files the record in the indexes; for an endpoint, returns its endpoint key. */
  private index(r: ReplicatedRecord): string | undefined {
    if (this.records.get(r.key)?.deleted) this.tombstoneCount--;
    if (r.deleted) this.tombstoneCount++;
    this.records.set(r.key, r);
    if (r.kind === 'tenant') this.tenantRecs.set(r.value.name, r);
    else if (r.kind === 'network') this.netRecs.set(`${r.value.tenant}/${r.value.name}`, r);
    else if (r.kind === 'token') this.tokenRecs.set(r.value.id, r);
    else {
      this.shareTexts(r.value);
      const k = flatString(endpointKey(r.value));
      const m = this.epRecs.get(k);
      if (!m) this.epRecs.set(k, [r]);
      else {
        const i = m.findIndex((x) => x.value.hostId === r.value.hostId);
        if (i < 0) m.push(r);
        else m[i] = r;
      }
      let byNet = this.epKeysByNet.get(r.value.network);
      if (!byNet) this.epKeysByNet.set(r.value.network, (byNet = new Set()));
      byNet.add(k);
      let byHost = this.epKeysByHost.get(r.value.hostId);
      if (!byHost) this.epKeysByHost.set(r.value.hostId, (byHost = new Set()));
      byHost.add(k);
      return k;
    }
    return undefined;
  }

  /**
   * Makes an endpoint value share the text its fields repeat from other records: a VTEP per host,
   * and timestamps (a registration batch stamps all its endpoints alike; a value never updated has
   * updatedAt = createdAt). Records parsed from JSON otherwise hold a copy each: ~110 B per
   * endpoint at 100,000 (bench B4). Only equal strings are swapped, so the value is unchanged.
   */
  private shareTexts(v: Endpoint): void {
    const vtep = this.vtepTexts.get(v.hostId);
    if (vtep === v.vtep) v.vtep = vtep;
    else this.vtepTexts.set(v.hostId, v.vtep);
    if (v.createdAt === this.lastStamp) v.createdAt = this.lastStamp;
    else this.lastStamp = v.createdAt;
    if (v.updatedAt === v.createdAt) v.updatedAt = v.createdAt;
    else if (v.updatedAt === this.lastStamp) v.updatedAt = this.lastStamp;
    else this.lastStamp = v.updatedAt;
  }

  private putRecord(tx: Tx, r: ReplicatedRecord): void {
    const epKey = this.index(r);
    tx.puts.set(r.key, r);
    tx.removes.delete(r.key);
    if (r.origin === this.hostId) tx.vv[this.hostId] = Math.max(tx.vv[this.hostId] ?? 0, r.counter);
    if (epKey !== undefined) tx.touched.add(epKey);
    else if (r.kind !== 'token') tx.networksTouched = true;
  }

  private removeRecord(tx: Tx, r: ReplicatedRecord): void {
    if (this.records.get(r.key)?.deleted) this.tombstoneCount--;
    this.records.delete(r.key);
    tx.puts.delete(r.key);
    tx.removes.add(r.key);
    if (r.kind === 'tenant') this.tenantRecs.delete(r.value.name);
    else if (r.kind === 'network') this.netRecs.delete(`${r.value.tenant}/${r.value.name}`);
    else if (r.kind === 'token') this.tokenRecs.delete(r.value.id);
    else {
      const k = endpointKey(r.value);
      const m = this.epRecs.get(k);
      const i = m ? m.findIndex((x) => x.value.hostId === r.value.hostId) : -1;
      if (i >= 0) m!.splice(i, 1);
      if (m && m.length === 0) {
        this.epRecs.delete(k);
        this.epKeysByNet.get(r.value.network)?.delete(k);
      }
      const byHost = this.epKeysByHost.get(r.value.hostId);
      byHost?.delete(k);
      if (byHost && byHost.size === 0) this.epKeysByHost.delete(r.value.hostId);
      tx.touched.add(k);
    }
    if (r.kind === 'tenant' || r.kind === 'network') tx.networksTouched = true;
  }

  private recomputeNetworks(tx: Tx): void {
    const tenants = new Map<string, TenantRecord>();
    for (const [n, r] of this.tenantRecs) if (!r.deleted) tenants.set(n, r);
    for (const key of new Set([...this.activeTenants.keys(), ...tenants.keys()])) {
      const a = this.activeTenants.get(key);
      const b = tenants.get(key);
      if (a !== b) tx.events.push({ kind: 'tenant', key, ...(a ? { before: a.value } : {}), ...(b ? { after: b.value } : {}) });
    }
    this.activeTenants = tenants;

    // Two live networks with one VNI: the older creation claim wins (HLC order, node id breaks
    // ties), a rule every agent evaluates identically on the same records.
    const byVni = new Map<number, NetworkRecord[]>();
    for (const r of this.netRecs.values()) {
      if (r.deleted || !tenants.has(r.value.tenant)) continue;
      const list = byVni.get(r.value.vni);
      if (list) list.push(r);
      else byVni.set(r.value.vni, [r]);
    }
    const nets = new Map<string, NetworkRecord>();
    const conflicts = new Map<string, string>();
    for (const list of byVni.values()) {
      list.sort((a, b) => compareHlc(a.created, b.created));
      const [winner, ...losers] = list;
      const wk = `${winner!.value.tenant}/${winner!.value.name}`;
      nets.set(wk, winner!);
      for (const l of losers) conflicts.set(`${l.value.tenant}/${l.value.name}`, wk);
    }
    for (const k of conflicts.keys()) {
      if (!this.netConflicts.has(k)) {
        this.log.warn({ network: k, holder: conflicts.get(k) }, 'VNI conflict: network not forwarded');
        const alarm = this.alarms().find((a) => a.id === `vni-conflict:${k}`);
        if (alarm) this.emitter.emit('alarm', alarm);
      }
    }
    this.netConflicts = conflicts;
    for (const key of new Set([...this.activeNets.keys(), ...nets.keys()])) {
      const a = this.activeNets.get(key);
      const b = nets.get(key);
      if (a === b) continue;
      tx.events.push({ kind: 'network', key, ...(a ? { before: a.value } : {}), ...(b ? { after: b.value } : {}) });
      for (const k of this.epKeysByNet.get(key) ?? []) tx.touched.add(k);
    }
    this.activeNets = nets;
  }

  private recomputeTouched(tx: Tx): void {
    if (tx.networksTouched) {
      tx.networksTouched = false;
      this.recomputeNetworks(tx);
    }
    // A withdrawal touches its key again; the loop ends because a withdrawal never changes the winner.
    while (tx.touched.size) {
      const keys = [...tx.touched];
      tx.touched.clear();
      for (const k of keys) this.recomputeEndpoint(tx, k);
    }
  }

  private recomputeEndpoint(tx: Tx, epKey: string): void {
    const entries = this.epRecs.get(epKey);
    const netActive = this.activeNets.has(networkOfEpKey(epKey));
    const candidates: EndpointRecord[] = [];
    if (netActive && entries) for (const r of entries) if (!r.deleted && !this.downHosts.has(r.value.hostId)) candidates.push(r);
    const fz = this.frozen.get(epKey);
    const winner = fz ? candidates.find((r) => r.value.hostId === fz.hostId) : bestEndpoint(candidates);
    const prev = this.activeEps.get(epKey);
    const stale = winner ? this.staleHosts.has(winner.value.hostId) : false;
    if (prev?.record !== winner || prev?.view.stale !== stale) {
      if (prev) this.unindexActive(epKey, prev);
      let next: ActiveEntry | undefined;
      if (winner) {
        next = { record: winner, view: activeView(winner.value, stale) };
        this.activeEps.set(epKey, next);
        if (winner.value.hostId === this.hostId) {
          this.activeLocal++;
          this.holdLocalPort(winner.value.port, epKey);
        }
        if (stale) this.activeStale++;
        let byIp = this.ipIndex.get(winner.value.network);
        if (!byIp) this.ipIndex.set(winner.value.network, (byIp = new Map<string, string>()));
        for (const ip of winner.value.ips) byIp.set(ip, epKey);
        const t = tenantOfNetwork(winner.value.network);
        this.epCountByTenant.set(t, (this.epCountByTenant.get(t) ?? 0) + 1);
      }
      const event: RegistryChange = { kind: 'endpoint', key: epKey };
      if (prev) event.before = prev.view;
      if (next) event.after = next.view;
      tx.events.push(event);
      if (prev && next && prev.record.value.hostId !== next.record.value.hostId && !fz) this.recordMove(tx, epKey, next.record.value.hostId);
    }
    // RFC 7432 s.15: the host whose announcement lost to a newer one withdraws its own.
    const own = hostRecord(entries, this.hostId);
    if (own && !own.deleted && !fz && !this.frozen.has(epKey) && winner && winner.value.hostId !== this.hostId && endpointBeats(winner, own)) {
      this.log.info({ key: epKey, to: winner.value.hostId, seq: winner.value.seq }, 'local endpoint moved to another host; withdrawing it');
      this.putRecord(tx, this.stampLocal({ kind: 'endpoint', key: own.key, value: own.value, deleted: true }));
    }
  }

  private unindexActive(epKey: string, prev: ActiveEntry): void {
    this.activeEps.delete(epKey);
    if (prev.record.value.hostId === this.hostId) {
      this.activeLocal--;
      this.releaseLocalPort(prev.record.value.port, epKey);
    }
    if (prev.view.stale) this.activeStale--;
    const byIp = this.ipIndex.get(prev.record.value.network);
    for (const ip of prev.record.value.ips) if (byIp?.get(ip) === epKey) byIp.delete(ip);
    if (byIp?.size === 0) this.ipIndex.delete(prev.record.value.network);
    const t = tenantOfNetwork(prev.record.value.network);
    this.epCountByTenant.set(t, (this.epCountByTenant.get(t) ?? 1) - 1);
  }

  private recordMove(tx: Tx, epKey: string, toHost: string): void {
    const now = this.clock.now();
    const times = (this.moves.get(epKey) ?? []).filter((t) => now - t < this.dup.windowMs);
    times.push(now);
    this.moves.set(epKey, times);
    if (times.length > this.dup.moves) {
      this.frozen.set(epKey, { hostId: toHost, since: now });
      tx.meta.frozen = [...this.frozen];
      const alarm = this.alarms().find((a) => a.id === `duplicate-mac:${epKey}`)!;
      this.log.error({ key: epKey, moves: times.length, windowMs: this.dup.windowMs, frozenOn: toHost }, alarm.message);
      this.emitter.emit('alarm', alarm);
    }
  }

  private finish(tx: Tx): Promise<void> {
    this.recomputeTouched(tx);
    const puts = [...tx.puts.values()];
    const removes = [...tx.removes];
    const needsCommit = puts.length > 0 || removes.length > 0 || Object.keys(tx.vv).length > 0 || Object.keys(tx.meta).length > 0;
    if (needsCommit && this.storeFailed) return Promise.reject(this.storeFailed);
    for (const r of puts) this.pending.set(r.key, (this.pending.get(r.key) ?? 0) + 1);
    const vvAfter = { ...this.vv };
    const batch: CommitBatch = { put: puts, remove: removes, vv: tx.vv, meta: { ...tx.meta, hlc: this.hlc.last() } };
    const commit = needsCommit ? this.store.commit(batch) : Promise.resolve();
    const events = tx.events;
    const done = this.chain.then(
      () => commit,
      () => commit,
    ).then(
      () => {
        for (const r of puts) this.unpend(r.key);
        if (this.storeFailed) {
          // Fail-stop: vvAfter may hold counters of the failed commit, so the committed vector stays
          // where it was. Only a transaction without writes gets here (stale marks): its view
          // changes still reach the pipeline.
          this.readyEvents.push(...events);
          this.scheduleEmit();
          return;
        }
        for (const [o, c] of Object.entries(vvAfter)) if (c > (this.committedVv[o] ?? 0)) this.committedVv[o] = c;
        this.readyEvents.push(...events);
        if (puts.length) {
          this.readyRecords.push(...puts);
          this.readyVv = { ...this.committedVv };
        } else if (Object.keys(tx.vv).length) this.readyVv = { ...this.committedVv };
        this.scheduleEmit();
      },
      (err: unknown) => {
        for (const r of puts) this.unpend(r.key);
        if (!(err instanceof RegistryStoreFailedError)) this.log.error({ err }, 'registry commit failed');
        else if (!this.storeFailed) {
          this.storeFailed = err;
          this.log.error({ dataDir: err.dataDir, storeError: err.storeError }, err.message);
          this.emitter.emit('failed', err);
          const alarm = this.alarms().find((a) => a.kind === 'store-failed');
          if (alarm) this.emitter.emit('alarm', alarm);
        }
        throw err;
      },
    );
    this.chain = done.catch(() => {});
    return done;
  }

  private unpend(key: string): void {
    const n = (this.pending.get(key) ?? 1) - 1;
    if (n <= 0) this.pending.delete(key);
    else this.pending.set(key, n);
  }

  private scheduleEmit(): void {
    if (this.emitScheduled) return;
    this.emitScheduled = true;
    setImmediate(() => {
      this.emitScheduled = false;
      const events = this.readyEvents;
      const records = this.readyRecords;
      const vv = this.readyVv;
      this.readyEvents = [];
      this.readyRecords = [];
      this.readyVv = undefined;
      if (vv) this.emitter.emit('replicate', { records, vv } satisfies ReplicateBatch);
      if (events.length) this.emitter.emit('change', events);
    });
  }
}
