// The composition root (docs/architecture.md): config -> store -> registry -> pipeline -> reconcile ->
// switch, then mesh and API. Nothing here computes flows or speaks OpenFlow; it wires the modules and
// keeps the one rule that makes restarts safe: the reconciler never runs before the desired table
// holds the registry's full state for the ports the switch reported, so a restarted agent finds every
// installed flow still wanted and re-adds nothing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/schema.js';
import { Registry } from '../registry/registry.js';
import type { RegistryChange } from '../registry/registry.js';
import type { Endpoint } from '../registry/model.js';
import { Store } from '../registry/store.js';
import type { HostContext } from '../pipeline/desired.js';
import { BUM_DROP_KINDS, COOKIE_KIND_MASK, COOKIE_MARKER, COOKIE_MARKER_MASK, COOKIE_VNI_MASK, cookieKind, cookieVni, makeCookie } from '../pipeline/cookie.js';
import { Reconciler } from '../reconcile/reconciler.js';
import type { ReconcileRun } from '../reconcile/reconciler.js';
import type { Flow } from '../reconcile/table.js';
import { OpenFlowSession } from '../switch/session.js';
import type { OfpErrorRecord } from '../switch/session.js';
import { OvsPreparer } from '../switch/ovs.js';
import type { OvsPrepared } from '../switch/ovs.js';
import { defaultTarget, parseTarget } from '../switch/transport.js';
import { realTimers } from '../switch/clock.js';
import type { Timers } from '../switch/clock.js';
import type { FlowStatsRequest } from '../switch/oftypes.js';
import { Mesh, loadMeshTls } from '../mesh/mesh.js';
import { loadOrCreateAdminToken } from '../api/auth.js';
import { startApi } from '../api/server.js';
import { Histogram, RECONCILE_BUCKETS } from '../api/metrics.js';
import type { RunningApi } from '../api/server.js';
import { registryPort, registryTokens } from '../api/registry-adapter.js';
import type { Alarm, FlowView, FlowsPort, InstallOutcome, MeshPort, NetworkCounters, PeerInfo, RegistryPort, RegistryStats, StatusPort, SwitchStatus, TracePort } from '../api/ports.js';
import { DesiredState } from './desired.js';
import type { DesiredDelta, NetworkInput } from './desired.js';
import { IdleGc, obtainGc } from './idle-gc.js';
import { flowView } from './flowview.js';

/**
 * Real timers, except that a zero delay runs on the next event-loop turn: a 0 ms setTimeout is a
 * 1 ms sleep, and on a busy host a sleeping process waits for the scheduler to wake it again, which
 * a registration's flows then wait for too.
 */
const turnTimers: Timers = {
  now: () => realTimers.now(),
  setTimeout: (fn, ms) => (ms <= 0 ? { id: { immediate: setImmediate(fn) } } : realTimers.setTimeout(fn, ms)),
  clearTimeout: (h) => {
    const id = h.id as { immediate?: NodeJS.Immediate };
    if (id.immediate !== undefined) clearImmediate(id.immediate);
    else realTimers.clearTimeout(h);
  },
};

/** Wall-clock ISO time of a performance.now() reading (the switch layer's clock). */
function isoOfMono(t: number): string {
  return new Date(performance.timeOrigin + t).toISOString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function sameMap(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

export interface AgentStatus {
  hostId: string;
  ready: boolean;
  switch: SwitchStatus;
  /** Registry batches turned into pipeline updates (networks recomputed). */
  pipeline: { batches: number; lastBatchNetworks: number; problems: number };
  /** Bad input that was logged and skipped instead of crashing the agent. */
  internalErrors: number;
  peers: PeerInfo[];
  registry: RegistryStats;
  alarms: Alarm[];
}

export interface AgentOptions {
  /** Overrides the API listen address (tests: port 0). */
  apiListen?: string;
  /** Skip the REST API (unit use). */
  noApi?: boolean;
}

export class Agent {
  readonly config: AgentConfig;
  readonly log: Logger;
  readonly store: Store;
  readonly registry: Registry;
  readonly session: OpenFlowSession;
  readonly reconciler: Reconciler;
  readonly mesh: Mesh | undefined;
  api: RunningApi | undefined;
  readonly adminToken: string;

  private desired: DesiredState;
  private readonly registryPort: RegistryPort;
  private readonly preparer: OvsPreparer;
  private prepared: OvsPrepared;
  private readonly dirtyNetworks = new Set<string>();
  private flushScheduled = false;
  /** performance.now() before which no scheduled pipeline update starts (see onRegistryChange). */
  private nextFlushAt = 0;
  /** performance.now() of the first pipeline update held back for the mesh's first initial sync. */
  private syncDeferSince: number | undefined;
  /** Callers of recompute() waiting for the next pipeline update. */
  private flushWaiters: Array<() => void> = [];
  private batches = 0;
  private lastBatchNetworks = 0;
  private problemsLogged = new Set<string>();
  private internalErrors = 0;
  private connects = 0;
  private readonly reconcileDurations = new Histogram(RECONCILE_BUCKETS);
  private countersCache: { at: number; value: Promise<NetworkCounters[]> } | undefined;
  private stopped = false;
  /** A full GC once idle after a large sync or reconcile run (src/agent/idle-gc.ts, docs/agent.md). */
  private readonly idleGc: IdleGc;

  private constructor(
    config: AgentConfig,
    log: Logger,
    store: Store,
    registry: Registry,
    prepared: OvsPrepared,
    preparer: OvsPreparer,
    mesh: Mesh | undefined,
    adminToken: string,
  ) {
    this.config = config;
    this.log = log;
    this.store = store;
    this.registry = registry;
    this.prepared = prepared;
    this.preparer = preparer;
    this.mesh = mesh;
    this.adminToken = adminToken;
    const target = parseTarget(config.openflow.target ?? defaultTarget(config.bridge, config.ovs.rundir), config.openflow.tls);
    this.session = new OpenFlowSession({
      target,
      logger: log.child({ mod: 'switch' }),
      echoIntervalMs: config.openflow.echoIntervalMs,
      inactivityTimeoutMs: config.openflow.inactivityTimeoutMs,
      reconnectMaxMs: config.openflow.reconnectMaxMs,
      // After an ovs-vswitchd restart the flows must be back within a second: retry quickly at first.
      reconnectMinMs: 50,
    });
    // No batching delay of its own: the agent already gathers an event-loop turn of registry changes
    // into one update (onRegistryChange), and what arrives while a bundle is in flight goes into the
    // next one. A fixed delay would only add to every single registration's convergence time.
    this.reconciler = new Reconciler(this.session, { logger: log.child({ mod: 'reconcile' }), batchMs: 0, timers: turnTimers });
    this.desired = new DesiredState(this.hostContext());
    this.registryPort = registryPort(registry);
    const gc = obtainGc();
    if (!gc) log.debug('no engine GC available; the garbage of large syncs is left to V8');
    this.idleGc = new IdleGc({
      threshold: Agent.IDLE_GC_CHANGES,
      quietMs: 2000,
      // A GC in the middle of a sync must not hold back the one after it for long.
      minIntervalMs: 5000,
      gc,
      log: log.child({ mod: 'gc' }),
      // A disconnected switch also counts as busy: its reconnect brings a dump and a run of its own.
      busy: () => this.flushScheduled || this.dirtyNetworks.size > 0 || !this.reconciler.status().inSync,
    });
  }

  /** Records or flows changed (summed) after which the agent runs one full GC once idle. */
  static readonly IDLE_GC_CHANGES = 10_000;

  /**
   * Starts everything in order: store and registry, Open vSwitch preparation, the OpenFlow session and
   * reconciler, the mesh, the API. Throws (after closing what it opened) when a step cannot work.
   */
  static async start(config: AgentConfig, log: Logger, opts: AgentOptions = {}): Promise<Agent> {
    mkdirSync(config.dataDir, { recursive: true });
    const store = await Store.open({ path: join(config.dataDir, 'registry'), hostId: config.hostId });
    let registry: Registry | undefined;
    let agent: Agent | undefined;
    try {
      registry = Registry.open({
        store,
        hostId: config.hostId,
        vtep: config.vtepIp,
        log: log.child({ mod: 'registry' }),
        gracefulRestartMs: config.mesh.gracefulRestartMs,
        tombstoneTtlMs: config.registry.tombstoneTtlMs,
        duplicate: { moves: config.registry.duplicateMoves, windowMs: config.registry.duplicateWindowMs },
        // An endpoint on either would let tunnel frames or the host's own stack into a tenant network.
        reservedPorts: [
          [config.tunnelPort, 'the tunnel port'],
          [config.bridge, "the bridge's own (LOCAL) port"],
        ],
        maxClockSkewMs: config.registry.maxClockSkewMs,
      });
      const s = registry.stats();
      log.info({ tenants: s.tenants, networks: s.networks, endpoints: s.endpoints.active }, 'registry loaded');

      const preparer = new OvsPreparer({
        db: config.ovs.db,
        bridge: config.bridge,
        datapathType: config.ovs.datapathType,
        encap: config.encap,
        tunnelPort: config.tunnelPort,
        vtepIp: config.vtepIp,
      });
      const prepared = await preparer.prepare();
      log.info({ bridge: prepared.bridge, tunnelPort: prepared.tunnelPort, tunnelOfport: prepared.tunnelOfport, changes: prepared.changes }, 'Open vSwitch prepared');

      const adminToken = loadOrCreateAdminToken(config.api.adminTokenFile ?? join(config.dataDir, 'admin.token'));
      const mesh = config.mesh.tls
        ? new Mesh({ hostId: config.hostId, registry, config: config.mesh, tls: loadMeshTls(config.mesh.tls), log: log.child({ mod: 'mesh' }) })
        : undefined;
      agent = new Agent(config, log, store, registry, prepared, preparer, mesh, adminToken);
      await agent.run(opts);
      return agent;
    } catch (err) {
      if (agent) await agent.stop().catch(() => undefined);
      else {
        await registry?.close().catch(() => undefined);
        await store.close().catch(() => undefined);
      }
      throw err;
    }
  }

  private async run(opts: AgentOptions): Promise<void> {
    const { session, reconciler, registry } = this;
    // The desired table must hold the full state before the reconciler's first run (see the header).
    this.desired.update(this.inputs(this.allNetworkKeys()));
    this.logProblems();
    reconciler.setDesired(this.desired.flows() as Flow[]);

    session.on('connected', ({ datapathId }) => this.guard('handling the OpenFlow connect', () => {
      this.connects++;
      this.log.info({ datapathId: `0x${datapathId.toString(16).padStart(16, '0')}`, ports: session.ports.size, connects: this.connects }, 'OpenFlow session up');
      this.refreshContext();
      // After the first connect, a reconnect may follow an ovs-vswitchd or ovsdb restart: check the
      // bridge again. It is idempotent and does not wait: the reconciler restores flows meanwhile.
      if (this.connects > 1) void this.reprepare();
    }));
    session.on('disconnected', ({ reason }) => this.log.warn({ reason }, 'OpenFlow session down; installed flows keep forwarding (fail_mode=secure)'));
    session.on('port-status', ({ reason, port }) => this.guard('handling a port status', () => {
      this.log.info({ reason, port: port.name, ofport: port.ofport }, 'port status');
      this.refreshContext();
    }));
    reconciler.on('error', (e: OfpErrorRecord) => this.log.error({ xid: e.xid, type: `${e.errType}/${e.code}` }, 'flow rejected by the switch'));
    reconciler.on('reconciled', (run: ReconcileRun) => {
      this.reconcileDurations.observe(run.durationMs / 1000);
      this.idleGc.note(run.adds + run.replaces + run.mods + run.dels + run.foreignDeleted);
      // Fresh flows start with fresh counters: do not serve the old ones.
      this.countersCache = undefined;
    });
    registry.on('change', (changes: RegistryChange[]) => this.guard('handling registry changes', () => {
      this.idleGc.note(changes.length);
      this.onRegistryChange(changes);
    }));

    reconciler.start();
    session.start();

    if (this.mesh) {
      const addr = await this.mesh.start();
      this.log.info({ listen: `${addr.host}:${addr.port}`, peers: this.config.mesh.peers.length }, 'mesh started');
    }
    if (!opts.noApi) {
      this.api = await startApi({
        listen: opts.apiListen ?? this.config.api.listen,
        registry: this.registryPort,
        tokens: registryTokens(this.registry),
        adminToken: this.adminToken,
        status: this.statusPort(),
        flows: this.flowsPort(),
        mesh: this.meshPort(),
        trace: this.tracePort(),
        hostId: this.config.hostId,
        logger: this.log.child({ mod: 'api' }),
        bodyLimit: this.config.api.bodyLimit,
        rateLimit: this.config.api.rateLimit,
        defaultQuota: this.config.api.defaultQuota,
        metricsPublic: this.config.api.metricsPublic,
        installTimeoutMs: this.config.api.installTimeoutMs,
        ...(this.config.api.tls ? { tls: this.config.api.tls } : {}),
      });
      this.log.info({ url: this.api.url }, 'API listening');
    }
  }

  /** Closes the API, the mesh and the OpenFlow session. Installed flows stay: the switch keeps forwarding. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.idleGc.stop();
    await this.api?.close().catch((err: unknown) => this.log.warn({ err }, 'closing the API failed'));
    await this.mesh?.stop().catch((err: unknown) => this.log.warn({ err }, 'stopping the mesh failed'));
    this.reconciler.stop();
    this.session.stop();
    await this.registry.close().catch((err: unknown) => this.log.warn({ err }, 'closing the registry failed'));
    await this.store.close().catch((err: unknown) => this.log.warn({ err }, 'closing the store failed'));
    this.log.info('agent stopped; the installed flows stay in place');
  }

  // ------------------------------------------------------------------ registry -> pipeline

  private activeNetworks() {
    // Networks that lost a VNI conflict are not forwarded (the registry flags them).
    return this.registry.networks().filter((n) => n.vniConflictWith === undefined);
  }

  private onRegistryChange(changes: RegistryChange[]): void {
    for (const c of changes) {
      if (c.kind === 'network') this.dirtyNetworks.add(c.key);
      else if (c.kind === 'endpoint') {
        for (const e of [c.before, c.after]) if (e) this.dirtyNetworks.add(e.network);
      } else {
        // A tenant coming or going changes which of its networks are live.
        for (const n of this.registry.networks(c.key)) this.dirtyNetworks.add(`${n.tenant}/${n.name}`);
      }
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled && this.dirtyNetworks.size) {
      this.flushScheduled = true;
      // One event-loop turn gathers a burst of changes into one pipeline update and one bundle. A
      // network is recomputed whole, so under a stream of changes (1,000 registrations arriving in
      // dozens of mesh frames) an update per frame would cost O(N) each, O(N^2) in all: the next
      // update waits as long as the last one took, so at most half the time goes to recomputing
      // and each update takes in everything that arrived meanwhile. A lone change waits for nothing.
      const run = () => this.guard('updating the pipeline', () => {
        if (this.waitingForFirstSync()) setTimeout(run, Agent.SYNC_POLL_MS).unref();
        else this.flush();
      });
      const wait = this.nextFlushAt - performance.now();
      if (wait > 0) setTimeout(run, wait).unref();
      else setImmediate(run);
    }
  }

  /**
   * Whether the pipeline update waits for the mesh's first initial sync to end. A new agent receiving
   * 100,000 endpoints applied them in about ten frames, and each frame's update recomputed the whole
   * network on the same thread, between the frames (bench B3), and the flows of a partial sync are
   * replaced within it: one update at its END_OF_RIB makes them once. A caller
   * waiting for its own write's flows (recompute()) is not held back, and no update waits longer
   * than MAX_SYNC_DEFER_MS in all (a peer that syncs slowly or stalls).
   */
  private waitingForFirstSync(): boolean {
    if (this.flushWaiters.length || !this.mesh?.firstSyncUnderway()) return false;
    const now = performance.now();
    this.syncDeferSince ??= now;
    return now - this.syncDeferSince < Agent.MAX_SYNC_DEFER_MS;
  }

  /** Longest time pipeline updates wait for the mesh's first initial sync, from the first one held. */
  static readonly MAX_SYNC_DEFER_MS = 10_000;
  /** How often a held pipeline update looks again whether the first initial sync has ended. */
  static readonly SYNC_POLL_MS = 10;

  /** Recomputes the networks the registry touched and hands the result to the reconciler. */
  flush(): void {
    this.flushScheduled = false;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    try {
      if (this.dirtyNetworks.size === 0) return;
      const t0 = performance.now();
      const keys = [...this.dirtyNetworks];
      this.dirtyNetworks.clear();
      this.batches++;
      this.lastBatchNetworks = keys.length;
      this.apply(keys);
      const took = performance.now() - t0;
      this.nextFlushAt = t0 + took + Math.min(took, Agent.MAX_FLUSH_GAP_MS);
    } finally {
      for (const w of waiters) w();
    }
  }

  /** Marks a network for the next pipeline update and resolves once that update has run. */
  private recompute(network: string): Promise<void> {
    this.dirtyNetworks.add(network);
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      this.scheduleFlush();
    });
  }

  /** Longest pause between pipeline updates under load, however long the last one took. */
  static readonly MAX_FLUSH_GAP_MS = 250;

  /** Recomputes these networks and hands the reconciler only what changed. */
  private apply(keys: Iterable<string>): void {
    let delta: DesiredDelta;
    try {
      delta = this.desired.update(this.inputs(keys));
    } catch (err) {
      this.internalErrors++;
      this.log.error({ err }, 'pipeline update failed; recomputing everything');
      this.desired = new DesiredState(this.hostContext());
      this.desired.update(this.inputs(this.allNetworkKeys()));
      this.reconciler.setDesired(this.desired.flows() as Flow[]);
      return;
    }
    if (delta.upsert.length === 0 && delta.remove.length === 0) return;
    this.logProblems();
    this.reconciler.updateDesired({ upsert: delta.upsert as Flow[], remove: delta.remove });
  }

  private inputs(keys: Iterable<string>): NetworkInput[] {
    const out: NetworkInput[] = [];
    for (const key of keys) {
      const i = key.indexOf('/');
      const n = this.registry.network(key.slice(0, i), key.slice(i + 1));
      const network = n && n.vniConflictWith === undefined ? n : undefined;
      out.push({ key, network, endpoints: network ? this.registry.endpoints({ network: key }) : [] });
    }
    return out;
  }

  /** Every network the table holds or the registry forwards (a context change recomputes them all). */
  private allNetworkKeys(): Set<string> {
    return new Set([...this.desired.networkKeys(), ...this.activeNetworks().map((n) => `${n.tenant}/${n.name}`)]);
  }

  private logProblems(): void {
    for (const p of this.desired.problems()) {
      const text = `${p.network ?? ''} ${p.endpoint ?? ''} ${p.message}`;
      if (this.problemsLogged.has(text)) continue;
      if (this.problemsLogged.size > 1000) this.problemsLogged.clear();
      this.problemsLogged.add(text);
      this.log.warn(p, 'pipeline problem');
    }
  }

  private hostContext(): HostContext {
    const localPorts = new Map<string, number>();
    // Before the first connect the session knows no ports; until then no local flows are wanted,
    // and the reconciler does not run either.
    const ports = this.session?.ports ?? new Map();
    for (const [name, p] of ports) if (p.ofport > 0) localPorts.set(name, p.ofport);
    const tunnelOfport = this.session?.ofport(this.config.tunnelPort) ?? this.prepared.tunnelOfport;
    return { hostId: this.config.hostId, vtepIp: this.config.vtepIp, tunnelOfport, localPorts };
  }

  private refreshContext(): void {
    const next = this.hostContext();
    const cur = this.desired.context;
    if (cur.tunnelOfport === next.tunnelOfport && sameMap(cur.localPorts, next.localPorts)) return;
    this.desired.setContext(next);
    this.apply(this.allNetworkKeys());
  }

  private async reprepare(): Promise<void> {
    try {
      const p = await this.preparer.prepare();
      this.prepared = p;
      if (p.changes.length) this.log.warn({ changes: p.changes }, 'Open vSwitch was changed back to the wanted state');
      this.refreshContext();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'cannot re-check Open vSwitch after a reconnect; will try again at the next one');
    }
  }

  // ------------------------------------------------------------------ status

  /** Per-network BUM drop and ARP reply counters from the flow packet counts (cached for a second). */
  counters(): Promise<NetworkCounters[]> {
    const now = Date.now();
    if (this.countersCache && now - this.countersCache.at < 1000) return this.countersCache.value;
    const value = this.readCounters();
    this.countersCache = { at: now, value };
    return value;
  }

  private async readCounters(): Promise<NetworkCounters[]> {
    const byVni = new Map<number, NetworkCounters>();
    for (const n of this.activeNetworks()) byVni.set(n.vni, { network: `${n.tenant}/${n.name}`, vni: n.vni, bumDropPackets: 0, arpReplies: 0 });
    if (this.session.state !== 'connected') return [...byVni.values()];
    const sorted = (): NetworkCounters[] => [...byVni.values()].sort((a, b) => a.vni - b.vni);
    try {
      // The switch sums the counters per network and kind (AGGREGATE, selected by cookie) instead of
      // sending every flow: with 100,000 endpoints a dump is 200,000 flows, 1-2 s and hundreds of MiB
      // of garbage per status read (bench B4). Hosts with very many networks take the one dump.
      if (byVni.size * (BUM_DROP_KINDS.length + 1) <= 256) {
        await Promise.all(
          [...byVni.values()].flatMap((c) => [...BUM_DROP_KINDS, 'arp-responder' as const].map(async (kind) => {
            const packets = await this.aggregatePackets(makeCookie(kind, c.vni));
            if (kind === 'arp-responder') c.arpReplies += packets;
            else c.bumDropPackets += packets;
          })),
        );
        return sorted();
      }
      const flows = await this.session.dumpFlows({ cookie: COOKIE_MARKER << 48n, cookieMask: COOKIE_MARKER_MASK }, 3000);
      this.idleGc.note(flows.length);
      for (const f of flows) {
        const c = byVni.get(cookieVni(f.cookie));
        if (!c) continue;
        const kind = cookieKind(f.cookie);
        if (kind && BUM_DROP_KINDS.includes(kind)) c.bumDropPackets += Number(f.packetCount);
        else if (kind === 'arp-responder') c.arpReplies += Number(f.packetCount);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot read flow counters');
      for (const c of byVni.values()) c.bumDropPackets = c.arpReplies = 0;
    }
    return sorted();
  }

  /** Packets of the flows whose cookie, generation aside, is this one (one AGGREGATE request). */
  private async aggregatePackets(cookie: bigint): Promise<number> {
    const body: FlowStatsRequest = { tableId: 'ALL', outPort: 'ANY', outGroup: 'ANY', cookie, cookieMask: COOKIE_MARKER_MASK | COOKIE_VNI_MASK | COOKIE_KIND_MASK, match: [] };
    const parts = await this.session.multipart({ type: 'MULTIPART_REQUEST', mpType: 'AGGREGATE', flags: [], body }, 3000);
    for (const m of parts) if (m.type === 'MULTIPART_REPLY' && m.mpType === 'AGGREGATE') return Number(m.body.packetCount);
    throw new Error('the switch answered an AGGREGATE request without aggregate stats');
  }

  async switchStatus(): Promise<SwitchStatus> {
    const s = this.session.status();
    const r = this.reconciler.status();
    const run = r.lastRun;
    const connected = s.state === 'connected';
    return {
      connection: {
        state: connected ? 'connected' : s.state === 'stopped' || s.state === 'idle' ? 'disconnected' : 'connecting',
        target: s.target,
        ...(s.datapathId !== undefined ? { datapathId: `0x${s.datapathId.toString(16).padStart(16, '0')}` } : {}),
        ...(connected && s.connectedSince !== undefined ? { since: isoOfMono(s.connectedSince) } : {}),
      },
      flows: { desired: r.desired, installed: r.installed },
      reconcile: {
        count: r.runs,
        flowModsSent: r.flowModsSent,
        ...(run
          ? {
              lastAt: isoOfMono(run.at),
              lastDurationMs: run.durationMs,
              lastAdded: run.adds,
              lastModified: run.mods + run.replaces,
              lastDeleted: run.dels,
            }
          : {}),
      },
      openflowErrors: {
        total: s.errors.total,
        recent: s.errors.recent.slice(-20).map((e) => ({
          at: isoOfMono(e.at),
          type: `${e.errType}/${e.code}`,
          xid: e.xid,
          ...(e.flow && typeof e.flow.tableId === 'number'
            ? { flow: (() => { const v = flowView(e.flow as Flow); return `table=${v.table},priority=${v.priority}${v.match ? `,${v.match}` : ''} actions=${v.actions}`; })() }
            : {}),
        })),
      },
      networks: await this.counters(),
    };
  }

  ready(): boolean {
    // A failed store refuses every write until restart: not ready even though the flows still forward.
    return this.session.state === 'connected' && this.reconciler.status().inSync && this.registry.storeFailure() === undefined;
  }

  async status(): Promise<AgentStatus> {
    return {
      hostId: this.config.hostId,
      ready: this.ready(),
      switch: await this.switchStatus(),
      pipeline: { batches: this.batches, lastBatchNetworks: this.lastBatchNetworks, problems: this.desired.problems().length },
      internalErrors: this.internalErrors,
      peers: this.peerInfo(),
      registry: await this.registryPort.stats(),
      alarms: await this.registryPort.alarms(),
    };
  }

  /** Runs an event handler; an exception is logged and counted instead of taking the agent down. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.noteInternalError(err, `${what} failed`);
    }
  }

  /** Counts an error that must not stop the agent (used by the CLI's last-resort handlers). */
  noteInternalError(err: unknown, what: string): void {
    this.internalErrors++;
    this.log.error({ err }, `${what}; the agent continues`);
  }

  private peerInfo(): PeerInfo[] {
    if (!this.mesh) return [];
    return this.mesh.peers().map((p) => ({
      hostId: p.hostId,
      ...(p.url ? { url: p.url } : {}),
      state: p.state === 'established' ? 'established' : p.state === 'syncing' || p.state === 'open-sent' ? 'syncing' : p.state === 'connecting' ? 'connecting' : 'down',
      ...(p.since ? { since: p.since } : {}),
      reflector: p.reflector,
    }));
  }

  // ------------------------------------------------------------------ ports for the API

  private statusPort(): StatusPort {
    return { ready: () => this.ready(), status: () => this.switchStatus(), reconcileDurations: () => this.reconcileDurations };
  }

  private meshPort(): MeshPort {
    return { peers: () => this.peerInfo() };
  }

  private flowsPort(): FlowsPort {
    return {
      flows: async () => {
        // The reconciler stamps its generation into the cookie when it writes a flow; a desired flow
        // that is installed with the same data shows the installed cookie (the generation is not a
        // difference: the reconciler never rewrites a flow for it).
        const inst = this.reconciler.installed;
        const desired = [...this.reconciler.desired.values()].map((e) => {
          const i = inst.get(e.key);
          return flowView(i && i.cdata === e.cdata ? { ...e.flow, cookie: i.flow.cookie } : e.flow);
        });
        let installed: FlowView[];
        if (this.session.state === 'connected') {
          const dump = await this.session.dumpFlows({}, 5000);
          this.idleGc.note(dump.length);
          installed = dump.map((f) => flowView(f, f));
        } else installed = [...this.reconciler.installed.values()].map((e) => flowView(e.flow));
        return { desired, installed };
      },
      waitInstalled: (key, timeoutMs) => this.waitInstalled(key, timeoutMs),
    };
  }

  /**
   * Per endpoint (the 201 of a registration): resolves installed once the flows the pipeline planned
   * for this endpoint's own port (classify, port security, own-probe drop, local unicast) are in the
   * reconciler's installed table, which it updates only after the switch committed the bundle. Answers
   * at once, with the reason, when they cannot be: the port is not on the bridge (the flows appear with
   * the port) or the pipeline refused the endpoint. For a deleted endpoint, or one of another host: once
   * the whole table is in sync (its flows are gone then).
   */
  async waitInstalled(key: string, timeoutMs: number): Promise<InstallOutcome> {
    const deadline = Date.now() + timeoutMs;
    const at = key.lastIndexOf('/');
    const network = key.slice(0, at);
    const mac = key.slice(at + 1).toLowerCase();
    const ep = this.registry.endpoint(network, mac);
    const local = ep !== undefined && ep.hostId === this.config.hostId;
    // Reasons that no pipeline update changes (its port is not on the bridge) answer at once.
    if (local && this.session.state === 'connected') {
      const reason = this.endpointRefused(ep);
      if (reason !== undefined) return { installed: false, reason };
    }
    // The caller's write is in the registry's memory (and durable): the network is recomputed from
    // that in the next pipeline update, one for all registrations arriving together. Waiting for the
    // registry's change events instead meant waiting for every commit issued since, under load.
    await this.recompute(network);
    for (;;) {
      if (this.session.state === 'connected') {
        if (!local) {
          if (this.reconciler.status().inSync) return { installed: true };
        } else {
          const s = this.endpointFlows(ep);
          if (s.reason !== undefined) return { installed: false, reason: s.reason };
          if (s.pending === 0) return { installed: true };
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const why = this.session.state === 'connected' ? 'the switch did not confirm them' : 'the OpenFlow session to the switch is down';
        return { installed: false, reason: `${why} within ${timeoutMs} ms; they follow when it does` };
      }
      await Promise.race([this.reconciler.whenIdle().then(() => sleep(2)), sleep(Math.min(left, 250))]);
    }
  }

  /** Why this local endpoint gets no flows whatever the pipeline does, or undefined. */
  private endpointRefused(ep: Endpoint): string | undefined {
    const i = ep.network.indexOf('/');
    const net = this.registry.network(ep.network.slice(0, i), ep.network.slice(i + 1));
    if (!net) return `network ${ep.network} is gone`;
    if (net.vniConflictWith !== undefined) return `network ${ep.network} lost VNI ${net.vni} to ${net.vniConflictWith} and is not forwarded`;
    if (!this.desired.context.localPorts.has(ep.port)) return `port ${ep.port} is not on ${this.config.bridge}`;
    return undefined;
  }

  /** This endpoint's planned local flows not yet confirmed on the switch, or why there are none. */
  private endpointFlows(ep: Endpoint): { pending: number; reason?: string } {
    const refused = this.endpointRefused(ep);
    if (refused !== undefined) return { pending: 0, reason: refused };
    const i = ep.network.indexOf('/');
    const net = this.registry.network(ep.network.slice(0, i), ep.network.slice(i + 1))!;
    const ofport = this.desired.context.localPorts.get(ep.port)!;
    const mac = ep.mac.toLowerCase();
    const field = (f: Flow, name: string): unknown => {
      const m = f.match.find((x) => x.field === name);
      return m && 'value' in m ? m.value : undefined;
    };
    const mine = (f: Flow): boolean => {
      if (cookieVni(f.cookie) !== net.vni) return false;
      const kind = cookieKind(f.cookie);
      const src = field(f, 'eth_src');
      if (kind === 'unicast-local') return typeof field(f, 'eth_dst') === 'string' && (field(f, 'eth_dst') as string).toLowerCase() === mac;
      if (kind === 'arp-own-probe-drop') return field(f, 'in_port') === ofport;
      return (kind === 'classify-local' || kind === 'port-security') && field(f, 'in_port') === ofport && typeof src === 'string' && src.toLowerCase() === mac;
    };
    let planned = 0;
    let classified = false;
    let pending = 0;
    const installed = this.reconciler.installed;
    for (const e of this.reconciler.desired.values()) {
      if (!mine(e.flow)) continue;
      planned++;
      if (cookieKind(e.flow.cookie) === 'classify-local') classified = true;
      const got = installed.get(e.key);
      if (!got || got.cdata !== e.cdata || got.ikey !== e.ikey) pending++;
    }
    if (planned === 0 || !classified) {
      const problem = this.desired.problems().find((p) => p.network === ep.network && p.endpoint?.toLowerCase() === mac);
      return { pending: 0, reason: problem ? problem.message : `the pipeline planned no flows for it on port ${ep.port}; see the agent log` };
    }
    return { pending };
  }

  private tracePort(): TracePort {
    return {
      trace: async (flow) => {
        const args: string[] = [];
        const rundir = this.config.ovs.rundir;
        if (rundir) {
          // The lab names the control socket vswitchd.ctl; a packaged Open vSwitch uses ovs-vswitchd.<pid>.ctl.
          const labCtl = join(rundir, 'vswitchd.ctl');
          if (existsSync(labCtl)) args.push('-t', labCtl);
          else {
            try {
              const pid = readFileSync(join(rundir, 'ovs-vswitchd.pid'), 'utf8').trim();
              args.push('-t', join(rundir, `ovs-vswitchd.${pid}.ctl`));
            } catch {
              // Fall back to ovs-appctl's default target.
            }
          }
        }
        const r = await execa('ovs-appctl', [...args, 'ofproto/trace', this.config.bridge, flow], { reject: false, timeout: 10000 });
        if (r.exitCode !== 0) throw new Error(`ovs-appctl ofproto/trace failed: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
        return String(r.stdout);
      },
    };
  }
}
