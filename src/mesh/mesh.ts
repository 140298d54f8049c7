// The agent mesh: a WebSocket-over-TLS server for inbound peers, a dialer per configured peer, and
// the bookkeeping around sessions (docs/mesh-protocol.md):
// - mutual TLS with the cluster CA; a peer's OPEN must claim a host id its certificate names, and
//   (outbound) the id configured for that URL;
// - one session per peer host: when both sides dial, the connection dialed by the lower host id is
//   kept, on both sides (the rule BGP uses for collisions, with ids instead of router ids);
// - reachability: a host is reachable while we hold a synchronised session with it or with a
//   reflector that reports it; when it stops being reachable its endpoints go stale in the
//   registry (graceful restart), and come back after its End-of-RIB;
// - reconnect with exponential back-off and jitter.
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { ClientOptions, RawData } from 'ws';
import type { Logger } from 'pino';
import type { Registry, Timers } from '../registry/registry.js';
import type { AgentConfig } from '../config/schema.js';
import { PeerSession } from './session.js';
import type { NotificationCode } from './protocol.js';
import type { Transport } from './session.js';

export interface MeshTls {
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
}

export type MeshConfig = Pick<
  AgentConfig['mesh'],
  'listen' | 'peers' | 'reflector' | 'keepaliveMs' | 'holdMs' | 'maxPayload'
> &
  Partial<Pick<AgentConfig['mesh'], 'maxQueuedBytes'>>;

export interface MeshOptions {
  hostId: string;
  registry: Registry;
  config: MeshConfig;
  tls: MeshTls;
  log?: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  timers?: Timers;
  random?: () => number;
  /** Reconnect back-off bounds (ms). */
  backoff?: { minMs: number; maxMs: number };
}

export interface PeerStatus {
  hostId: string;
  url?: string;
  configured: boolean;
  state: 'idle' | 'connecting' | 'open-sent' | 'syncing' | 'established';
  direction?: 'inbound' | 'outbound';
  reflector: boolean;
  reachable: boolean;
  since?: string;
  lastError?: string;
  queuedRecords: number;
  counters?: PeerSession['counters'];
}

export class MeshError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MeshError';
  }
}

/** Reads the PEM files named in the config (mesh.tls). */
export function loadMeshTls(files: { ca: string; cert: string; key: string }): MeshTls {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new MeshError(`cannot read the mesh ${what} file ${path}: ${(err as Error).message}; create the files with "bumless cert"`);
    }
  };
  return { ca: read('CA', files.ca), cert: read('certificate', files.cert), key: read('key', files.key) };
}

/** IP addresses a certificate names (its IP SANs); a peer's VTEP must be one of them when there are any. */
export function certIps(cert: PeerCertificate | undefined): string[] {
  if (!cert || Object.keys(cert).length === 0) return [];
  const ips: string[] = [];
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*IP Address:(.+)$/.exec(part);
    if (m?.[1]) ips.push(m[1].trim());
  }
  return ips;
}

/** Host ids a certificate names: its subject CN and its DNS subject alternative names. */
export function certHostNames(cert: PeerCertificate | undefined): string[] {
  if (!cert || Object.keys(cert).length === 0) return [];
  const names = new Set<string>();
  const cn = cert.subject?.CN;
  for (const c of Array.isArray(cn) ? cn : cn ? [cn] : []) names.add(c);
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(part);
    if (m?.[1]) names.add(m[1].trim());
  }
  return [...names];
}

function wsTransport(ws: WebSocket): Transport {
  return {
    send: (text, done) => ws.send(text, (err) => done(err ?? undefined)),
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close(code, reason);
      // A peer that does not answer the closing handshake is cut off.
      setTimeout(() => ws.terminate(), 2000).unref();
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
  };
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(listen);
  if (!m) throw new MeshError(`mesh.listen "${listen}" is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

interface Dialer {
  hostId: string;
  url: string;
  attempt: number;
  timer?: unknown;
  ws?: WebSocket;
  session?: PeerSession;
  lastError?: string;
}

export class Mesh {
  readonly hostId: string;
  private readonly o: MeshOptions;
  private readonly log: NonNullable<MeshOptions['log']>;
  private readonly timers: Timers;
  private readonly random: () => number;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly dialers = new Map<string, Dialer>();
  private readonly inbound = new Set<PeerSession>();
  private readonly active = new Map<string, PeerSession>();
  private readonly synced = new Set<string>();
  /** A peer's initial sync has been received with no other under way (see firstSyncUnderway). */
  private firstSyncDone = false;
  private readonly viaReflector = new Map<string, Set<string>>();
  private reachable = new Set<string>();
  private stopped = false;
  /** Why this agent syncs no more: its registry store failed a commit (fail-stop until a restart). */
  private halted: string | undefined;
  private lastPeers: string | undefined;

  constructor(opts: MeshOptions) {
    this.o = opts;
    this.hostId = opts.hostId;
    this.log = opts.log ?? { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    };
    this.random = opts.random ?? Math.random;
    for (const p of opts.config.peers) {
      if (p.hostId === opts.hostId) continue;
      this.dialers.set(p.hostId, { hostId: p.hostId, url: p.url, attempt: 0 });
    }
  }

  /** Starts the server and the dialers; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(this.o.config.listen);
    const server = createServer({
      ca: this.o.tls.ca,
      cert: this.o.tls.cert,
      key: this.o.tls.key,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    server.on('tlsClientError', (err, socket) => {
      this.log.warn({ err: err.message, remote: socket.remoteAddress }, 'mesh: TLS handshake refused (no valid cluster certificate?)');
    });
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('bumless mesh: WebSocket upgrade required\n');
    });
    const wss = new WebSocketServer({ server, maxPayload: this.o.config.maxPayload, perMessageDeflate: false });
    wss.on('connection', (ws, req) => this.acceptInbound(ws, req.socket as TLSSocket));
    wss.on('error', (err) => this.log.error({ err }, 'mesh: server error'));
    wss.on('wsClientError', (err, socket) => {
      this.log.warn({ err: err.message }, 'mesh: bad WebSocket handshake');
      socket.destroy();
    });
    this.server = server;
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new MeshError(`cannot listen on ${this.o.config.listen} for the mesh: ${err.code ?? err.message}; change mesh.listen or free the port`)),
      );
      server.listen(port, host, () => resolve());
    });
    // Until a peer has resynchronised with us, what we hold about it is stale (graceful restart).
    for (const h of this.o.registry.knownHosts()) this.o.registry.markPeerStale(h);
    this.o.registry.on('failed', (err) => this.halt(err.message));
    const failure = this.o.registry.storeFailure();
    if (failure) this.halt(failure.message);
    for (const d of this.dialers.values()) this.dial(d);
    const addr = server.address() as AddressInfo;
    this.log.info({ listen: `${addr.address}:${addr.port}`, peers: this.dialers.size, reflector: this.o.config.reflector }, 'mesh: listening');
    return { host: addr.address, port: addr.port };
  }

  /**
   * The registry's store failed a commit (docs/mesh-protocol.md, section 13): until a restart this
   * agent applies nothing and sends nothing more, so every session closes with a NOTIFICATION (peers
   * keep our last good records as stale for their graceful-restart window), no peer is dialed and
   * inbound connections are refused.
   */
  private halt(reason: string): void {
    if (this.halted !== undefined || this.stopped) return;
    this.halted = reason;
    this.log.warn({ reason }, 'mesh: the registry store failed; closing every session until the agent is restarted');
    for (const d of this.dialers.values()) {
      if (d.timer !== undefined) this.timers.clearTimeout(d.timer);
      d.timer = undefined;
      d.lastError = reason;
      d.session?.close('internal-error', reason);
    }
    for (const s of [...this.inbound, ...this.active.values()]) s.close('internal-error', reason);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.dialers.values()) {
      if (d.timer !== undefined) this.timers.clearTimeout(d.timer);
      d.session?.close('shutdown', 'agent stopping');
      d.ws?.terminate();
    }
    for (const s of [...this.inbound]) s.close('shutdown', 'agent stopping');
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    await new Promise<void>((r) => (this.wss ? this.wss.close(() => r()) : r()));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }

  /** Per-peer status for `bumless status`, the API and metrics. */
  peers(): PeerStatus[] {
    const hosts = new Set([...this.dialers.keys(), ...this.active.keys(), ...this.reachable]);
    return [...hosts].sort().map((h) => {
      const s = this.active.get(h);
      const d = this.dialers.get(h);
      return {
        hostId: h,
        ...(d ? { url: d.url } : {}),
        configured: !!d,
        state: s ? (s.state === 'closed' ? 'idle' : s.state) : d?.ws ? 'connecting' : 'idle',
        ...(s ? { direction: s.direction } : {}),
        reflector: s?.peerReflector ?? false,
        reachable: this.reachable.has(h),
        ...(s ? { since: new Date(s.since).toISOString() } : {}),
        ...((s?.lastError ?? d?.lastError) ? { lastError: s?.lastError ?? d?.lastError } : {}),
        queuedRecords: s?.queued() ?? 0,
        ...(s ? { counters: { ...s.counters } } : {}),
      } satisfies PeerStatus;
    });
  }

  /**
   * Peers a change committed now is announced to: those with an open session (their queue gets it).
   * The API reports these after a registration.
   */
  announcedPeers(): string[] {
    return [...this.active.values()].filter((s) => s.state === 'syncing' || s.state === 'established').map((s) => s.peerHostId!).sort();
  }

  /**
   * True while this agent receives its first initial syncs: until, for the first time since start,
   * a peer's END_OF_RIB arrived with no other session still syncing. The agent computes no flows
   * meanwhile (docs/agent.md, "Initial sync").
   */
  firstSyncUnderway(): boolean {
    return !this.firstSyncDone && this.anySyncing();
  }

  private anySyncing(): boolean {
    for (const s of this.active.values()) if (s.state === 'syncing') return true;
    return false;
  }

  /** Hosts currently reachable (directly or through a reflector). */
  reachableHosts(): string[] {
    return [...this.reachable].sort();
  }

  // ---------------------------------------------------------------- sessions

  private newSession(
    transport: Transport,
    direction: 'inbound' | 'outbound',
    certNames: string[] | undefined,
    ips: () => readonly string[] | undefined,
    expectedHostId?: string,
  ): PeerSession {
    const cfg = this.o.config;
    return new PeerSession({
      registry: this.o.registry,
      hostId: this.hostId,
      reflector: cfg.reflector,
      transport,
      direction,
      ...(expectedHostId !== undefined ? { expectedHostId } : {}),
      ...(certNames !== undefined ? { certNames } : {}),
      authorize: (h) =>
        this.dialers.has(h) || cfg.reflector ? undefined : `host "${h}" is not a configured mesh peer of "${this.hostId}"; add it to mesh.peers or connect it to a reflector`,
      certIps: ips,
      vtepOwner: (vtep, h) => {
        for (const s of this.active.values()) if (s.state !== 'closed' && s.peerHostId !== h && s.peerVtep === vtep) return s.peerHostId;
        return undefined;
      },
      vtepOf: (h) => this.vtepOf(h),
      keepaliveMs: cfg.keepaliveMs,
      holdMs: cfg.holdMs,
      maxPayload: cfg.maxPayload,
      ...(cfg.maxQueuedBytes !== undefined ? { maxQueuedBytes: cfg.maxQueuedBytes } : {}),
      timers: this.timers,
      log: this.log,
      hooks: {
        onOpen: (s) => this.onOpen(s),
        onSynced: (s) => this.onSynced(s),
        onPeers: (s, up) => this.onPeers(s, up),
        onClose: (s, code, reason) => this.onClose(s, code, reason),
      },
    });
  }

  private wire(ws: WebSocket, session: PeerSession): void {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) session.receiveBinary();
      else session.receive(Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    });
    // ws reports oversized frames and protocol violations as 'error' and then closes with
    // 1009/1002; handling the event is what keeps the process alive.
    ws.on('error', (err) => {
      session.lastError = err.message;
      this.log.warn({ peer: session.peerHostId, err: err.message }, 'mesh: connection error');
    });
    ws.on('close', (code, reason) => session.transportClosed(`connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`));
  }

  private acceptInbound(ws: WebSocket, socket: TLSSocket): void {
    if (this.stopped || this.halted !== undefined) {
      ws.terminate();
      return;
    }
    const cert = socket.getPeerCertificate();
    const names = certHostNames(cert);
    const ips = certIps(cert);
    const session = this.newSession(wsTransport(ws), 'inbound', names, () => ips);
    this.inbound.add(session);
    this.wire(ws, session);
    session.start();
  }

  private dial(d: Dialer): void {
    d.timer = undefined;
    if (this.stopped || this.halted !== undefined || d.ws || this.active.has(d.hostId)) return;
    const opts: ClientOptions = {
      ca: this.o.tls.ca,
      cert: this.o.tls.cert,
      key: this.o.tls.key,
      maxPayload: this.o.config.maxPayload,
      perMessageDeflate: false,
      handshakeTimeout: this.o.config.holdMs,
      rejectUnauthorized: true,
    };
    // The server's certificate must name the host id configured for this URL (instead of the
    // URL's host name: peers are often addressed by IP).
    let serverIps: string[] | undefined;
    (opts as Record<string, unknown>).checkServerIdentity = (_servername: string, cert: PeerCertificate): Error | undefined => {
      serverIps = certIps(cert);
      return certHostNames(cert).includes(d.hostId) ? undefined : new MeshError(`the certificate at ${d.url} names ${certHostNames(cert).join(', ') || 'nothing'}, not the configured host id "${d.hostId}"`);
    };
    let ws: WebSocket;
    try {
      ws = new WebSocket(d.url, opts);
    } catch (err) {
      d.lastError = (err as Error).message;
      this.log.error({ peer: d.hostId, url: d.url, err: d.lastError }, 'mesh: invalid peer URL; fix mesh.peers');
      return;
    }
    d.ws = ws;
    // Outbound, checkServerIdentity already bound the certificate to d.hostId and the session
    // requires the OPEN to claim d.hostId.
    const session = this.newSession(wsTransport(ws), 'outbound', undefined, () => serverIps, d.hostId);
    d.session = session;
    this.wire(ws, session);
    ws.on('open', () => session.start());
    ws.on('error', (err) => {
      d.lastError = err.message;
    });
    ws.on('close', () => {
      d.ws = undefined;
      if (d.session === session) d.session = undefined;
      this.scheduleDial(d);
    });
  }

  private scheduleDial(d: Dialer): void {
    if (this.stopped || this.halted !== undefined || d.timer !== undefined || d.ws) return;
    const { minMs, maxMs } = this.o.backoff ?? { minMs: 250, maxMs: 10_000 };
    const delay = Math.min(maxMs, minMs * 2 ** Math.min(d.attempt, 16)) * (0.8 + 0.4 * this.random());
    d.attempt++;
    d.timer = this.timers.setTimeout(() => this.dial(d), delay);
  }

  private onOpen(s: PeerSession): boolean {
    const h = s.peerHostId!;
    const existing = this.active.get(h);
    if (existing && existing !== s && existing.state !== 'closed') {
      // Keep the connection dialed by the lower host id; both ends reach the same verdict.
      const weDialNew = s.direction === 'outbound';
      const lowerDials = this.hostId < h;
      if (weDialNew !== lowerDials) return false;
      this.active.set(h, s);
      existing.close('connection-collision', `another session with "${h}" is kept`);
      return true;
    }
    this.active.set(h, s);
    return true;
  }

  private onSynced(s: PeerSession): void {
    const h = s.peerHostId!;
    if (this.active.get(h) !== s) return;
    this.synced.add(h);
    if (!this.anySyncing()) this.firstSyncDone = true;
    const d = this.dialers.get(h);
    if (d) d.attempt = 0;
    this.log.info({ peer: h }, 'mesh: peer synchronised (End-of-RIB)');
    this.recomputeReach();
  }

  /** The VTEP `h` announced in its OPEN: to us directly, else to a reflector whose PEERS lists it. */
  private vtepOf(h: string): string | undefined {
    const direct = this.active.get(h);
    if (direct?.peerVtep !== undefined && direct.state !== 'closed') return direct.peerVtep;
    // Only reflectors that sent PEERS: called per relayed record, so no walk over every session.
    for (const [r, hosts] of this.viaReflector) {
      if (!hosts.has(h)) continue;
      const s = this.active.get(r);
      const v = s && s.state !== 'closed' ? s.peersVteps[h] : undefined;
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private onPeers(s: PeerSession, up: string[]): void {
    const h = s.peerHostId!;
    if (this.active.get(h) !== s) return;
    this.viaReflector.set(h, new Set(up));
    this.recomputeReach();
  }

  private onClose(s: PeerSession, code: NotificationCode | 'transport', reason: string): void {
    this.inbound.delete(s);
    const h = s.peerHostId;
    if (h === undefined || this.active.get(h) !== s) return;
    this.active.delete(h);
    this.synced.delete(h);
    this.viaReflector.delete(h);
    this.log.info({ peer: h, code, reason }, 'mesh: session with peer ended');
    this.recomputeReach();
    const d = this.dialers.get(h);
    if (d) this.scheduleDial(d);
  }

  private recomputeReach(): void {
    const next = new Set<string>(this.synced);
    for (const [r, hosts] of this.viaReflector) if (this.synced.has(r)) for (const h of hosts) next.add(h);
    next.delete(this.hostId);
    for (const h of this.reachable) if (!next.has(h)) this.o.registry.markPeerStale(h);
    for (const h of next) if (!this.reachable.has(h)) this.o.registry.peerEndOfRib(h);
    this.reachable = next;
    // Only on a change: two reflectors would otherwise answer each other's PEERS forever. Every
    // session still gets the list, because its own END_OF_RIB changes the set.
    const up = [...this.synced].sort();
    if (this.o.config.reflector && up.join() !== this.lastPeers) {
      this.lastPeers = up.join();
      const vteps: Record<string, string> = {};
      for (const h of up) {
        const v = this.active.get(h)?.peerVtep;
        if (v !== undefined) vteps[h] = v;
      }
      for (const s of this.active.values()) s.sendPeers(up, vteps);
    }
  }
}
