// One mesh session with one peer, independent of the transport (WebSocket in production, an
// in-memory pipe in unit tests). The state machine (docs/mesh-protocol.md):
//   open-sent --OPEN ok--> syncing --peer's END_OF_RIB--> established --close--> closed
// On the peer's OPEN we snapshot what it misses (registry.changesSince(its vector)), queue it and an
// END_OF_RIB, and from then on queue every committed batch as a delta. A session relies on its
// transport being ordered and reliable (TCP): a vector in UPDATE/END_OF_RIB vouches for everything
// sent before it on the same session.
import type { Logger } from 'pino';
import type { Registry, ReplicateBatch, Timers } from '../registry/registry.js';
import { recordDot } from '../registry/registry.js';
import type { EndpointRecord, ReplicatedRecord, VersionVector } from '../registry/model.js';
import { ClockSkewError, RegistryStoreFailedError } from '../registry/errors.js';
import type { MeshMessage, NotificationCode, OpenMsg } from './protocol.js';
import { PROTOCOL_VERSION, ProtocolError, SUPPORTED_VERSIONS, closeCodeFor, parseMessage } from './protocol.js';

export interface Transport {
  /** Sends one text frame; `done` runs once it has been handed to the socket. */
  send(text: string, done: (err?: Error) => void): void;
  /** Bytes queued in the transport and not yet written to the socket. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
  pause?(): void;
  resume?(): void;
}

export type SessionState = 'open-sent' | 'syncing' | 'established' | 'closed';

export interface SessionHooks {
  /** The peer's OPEN was accepted. Return false to drop this session (collision); it is then closed. */
  onOpen(s: PeerSession): boolean;
  /** The peer's END_OF_RIB was applied: its data is current. */
  onSynced(s: PeerSession): void;
  /** A reflector told us which hosts it reaches. */
  onPeers(s: PeerSession, up: string[], vteps: Readonly<Record<string, string>>): void;
  onClose(s: PeerSession, code: NotificationCode | 'transport', reason: string): void;
}

export interface SessionOptions {
  registry: Registry;
  hostId: string;
  reflector: boolean;
  transport: Transport;
  direction: 'inbound' | 'outbound';
  /** Outbound: the configured peer's host id; its OPEN must claim exactly this id. */
  expectedHostId?: string;
  /** Host ids named by the peer's TLS certificate (CN and SAN); undefined only for in-memory tests. */
  certNames?: readonly string[];
  /** Returns a reason when this host id may not peer with us. */
  authorize(hostId: string): string | undefined;
  /** IP addresses named by the peer's TLS certificate (IP SANs); when any, the OPEN's VTEP must be one. */
  certIps?: () => readonly string[] | undefined;
  /** Another host that currently holds `vtep` through a session of this agent, if any. */
  vtepOwner?: (vtep: string, hostId: string) => string | undefined;
  /** The VTEP `hostId` announced in an OPEN, to us directly or to a reflector that reports it. */
  vtepOf?: (hostId: string) => string | undefined;
  keepaliveMs: number;
  holdMs: number;
  maxPayload: number;
  timers: Timers;
  log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  hooks: SessionHooks;
  /**
   * Bytes of deltas queued for a peer that does not drain them; beyond this the session is closed
   * (send-queue-overflow) and the peer resyncs by version vector on reconnect. Default 64 MiB.
   */
  maxQueuedBytes?: number;
}

interface QueuedBatch {
  records: ReplicatedRecord[];
  /** Index of the next record to send (records are serialised only when their frame is built). */
  next: number;
  /**
   * Deltas count against maxQueuedBytes; the initial sync does not: it lists records the registry
   * holds anyway, and each is serialised only when its frame goes out.
   */
  counted: boolean;
  /** Vector vouched for once every record is sent (omitted during the initial sync). */
  vv?: VersionVector;
}

type QueueItem = QueuedBatch | { control: string };

// Each received UPDATE is one durable transaction on the receiver (two fsyncs) before the next frame
// is applied: 10,000 records (about 3.5 MB of endpoints) cut a 100,000-endpoint sync into 10 of them
// instead of 51; the byte cut (90% of maxPayload) still comes first for larger records.
const MAX_RECORDS_PER_FRAME = 10_000;
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Bookkeeping cost charged per inbound frame on top of its size (the promise, the parsed object's shell). */
const FRAME_OVERHEAD = 256;

interface Serialised {
  text: string;
  /** UTF-8 length: maxPayload counts bytes, and names or descriptions may hold non-ASCII text. */
  bytes: number;
}

// Records are immutable once committed, so each is serialised once however many sessions carry it
// (a reflector sends every record to every client). The cache is keyed by the registry's own
// records, which live on, so it would keep every text it ever made (~360 B per endpoint after a
// full sync, bench B4): it is dropped once no session of this process has records left to send,
// checked on the next event-loop turn so a change fanned out to every session in one turn (a
// reflector's deltas) is still serialised once.
let serialised = new WeakMap<ReplicatedRecord, Serialised>();
/** Records queued in all sessions of this process, not yet framed. */
let queuedEverywhere = 0;
let dropScheduled = false;
function queuedDelta(n: number): void {
  queuedEverywhere = Math.max(0, queuedEverywhere + n);
  if (queuedEverywhere > 0 || dropScheduled) return;
  dropScheduled = true;
  setImmediate(() => {
    dropScheduled = false;
    if (queuedEverywhere === 0) serialised = new WeakMap();
  });
}
/** Texts in the serialisation cache are released once every session has sent its queue (for tests). */
export function serialisedCached(r: ReplicatedRecord): boolean {
  return serialised.has(r);
}
function serialise(r: ReplicatedRecord): Serialised {
  let s = serialised.get(r);
  if (s === undefined) {
    const text = JSON.stringify(r);
    s = { text, bytes: Buffer.byteLength(text) };
    serialised.set(r, s);
  }
  return s;
}

export class PeerSession {
  state: SessionState = 'open-sent';
  peerHostId: string | undefined;
  peerReflector = false;
  /** The VTEP the peer announced in its OPEN. */
  peerVtep: string | undefined;
  /** A reflector peer's last PEERS: the VTEP of each host it reaches. */
  peersVteps: Readonly<Record<string, string>> = {};
  readonly since: number = Date.now();
  lastError: string | undefined;
  readonly counters = { framesIn: 0, framesOut: 0, recordsIn: 0, recordsOut: 0, rejected: 0, clockSkew: 0, vtepRejected: 0 };

  private readonly o: SessionOptions;
  private holdMs: number;
  private holdTimer: unknown;
  private keepaliveTimer: unknown;
  private retryTimer: unknown;
  private readonly queue: QueueItem[] = [];
  private queuedRecords = 0;
  private queuedBytes = 0;
  private sending = false;
  private inbound: Promise<void> = Promise.resolve();
  /**
   * Set once by teardown and never cleared (unlike `state`, which an apply in flight could
   * otherwise overwrite): from then on no received frame is applied, so the frames applied are
   * always a prefix of what the peer sent, the condition for its vouched vectors to be true.
   */
  private ended = false;
  private inboundBytes = 0;
  private paused = false;
  /** During the initial sync: key -> version received (for pruning after a full sync). */
  private syncKeys: Map<string, string> | undefined = new Map();
  private readonly onReplicate = (b: ReplicateBatch): void => this.enqueueDelta(b);
  private subscribed = false;

  get direction(): 'inbound' | 'outbound' {
    return this.o.direction;
  }

  constructor(opts: SessionOptions) {
    this.o = opts;
    this.holdMs = opts.holdMs;
  }

  /** Sends our OPEN and starts the hold timer (the peer must answer within it). */
  start(): void {
    const open: OpenMsg = {
      type: 'open',
      version: PROTOCOL_VERSION,
      hostId: this.o.hostId,
      reflector: this.o.reflector,
      holdMs: this.o.holdMs,
      vv: this.o.registry.versionVector(),
      vtep: this.o.registry.vtep,
    };
    this.sendControl(open);
    this.resetHold();
  }

  /** One text frame from the transport. Never throws: protocol errors close this session only. */
  receive(text: string): void {
    // A WebSocket still delivers frames after close() until the closing handshake ends; they are
    // dropped like the rest of what was in flight.
    if (this.ended) return;
    this.counters.framesIn++;
    this.resetHold();
    let msg: MeshMessage;
    try {
      msg = parseMessage(text);
    } catch (err) {
      const e = err as ProtocolError;
      this.close(e.code, e.message);
      return;
    }
    // Applying records is asynchronous (it waits for the fsync); frames are handled strictly in
    // order, and the transport is paused while the waiting frames hold more than maxPayload bytes,
    // which pushes back on the peer through TCP: memory stays within about two frames.
    const cost = text.length + FRAME_OVERHEAD;
    this.inboundBytes += cost;
    if (this.inboundBytes > this.inboundBudget() && !this.paused && this.o.transport.pause) {
      this.paused = true;
      this.o.transport.pause();
    }
    this.inbound = this.inbound
      .then(() => this.handle(msg))
      .catch((err: unknown) => {
        if (err instanceof ProtocolError) this.close(err.code, err.message);
        else if (err instanceof ClockSkewError) {
          // The registry refused the whole batch (and logged it); the peer hears why.
          this.counters.clockSkew++;
          this.close('clock-skew', err.message);
        } else if (err instanceof RegistryStoreFailedError) {
          // Logged once by the registry; the mesh closes every session on its 'failed' event.
          this.close('internal-error', err.message);
        } else {
          this.o.log.error({ err, peer: this.peerHostId }, 'mesh: failed to apply a message');
          this.close('internal-error', (err as Error).message);
        }
      })
      .finally(() => {
        this.inboundBytes -= cost;
        if (this.paused && this.inboundBytes <= this.inboundBudget() / 2) {
          this.paused = false;
          this.o.transport.resume?.();
        }
      });
  }

  /** A non-text frame is a protocol violation. */
  receiveBinary(): void {
    this.close('unsupported-frame', 'binary frames are not part of the mesh protocol');
  }

  /** Sends a NOTIFICATION (best effort) and closes the transport. Idempotent. */
  close(code: NotificationCode, reason: string): void {
    if (this.state === 'closed') return;
    const level = code === 'shutdown' || code === 'connection-collision' ? 'info' : 'warn';
    this.o.log[level]({ peer: this.peerHostId, code, reason }, 'mesh: closing session');
    this.lastError = `${code}: ${reason}`;
    try {
      this.o.transport.send(JSON.stringify({ type: 'notification', code, reason: reason.slice(0, 1000) }), () => {});
    } catch {
      // The transport may already be gone; closing is what matters.
    }
    this.o.transport.close(closeCodeFor(code), `${code}: ${reason}`.slice(0, 120));
    this.teardown(code, reason);
  }

  /** The transport closed underneath us. */
  transportClosed(reason: string): void {
    if (this.state === 'closed') return;
    this.lastError ??= reason;
    this.teardown('transport', reason);
  }

  /** Records waiting to be sent (initial sync and deltas). */
  queued(): number {
    return this.queuedRecords;
  }

  /** Bytes of deltas waiting to be sent (what maxQueuedBytes bounds). */
  queuedDeltaBytes(): number {
    return this.queuedBytes;
  }

  /** Bytes of received frames waiting to be applied (what pauses the transport). */
  pendingInboundBytes(): number {
    return this.inboundBytes;
  }

  private inboundBudget(): number {
    return this.o.maxPayload;
  }

  sendPeers(up: string[], vteps: Record<string, string> = {}): void {
    if (this.state === 'syncing' || this.state === 'established') this.sendControl({ type: 'peers', up, vteps });
  }

  // ---------------------------------------------------------------- inbound

  private async handle(msg: MeshMessage): Promise<void> {
    if (this.ended) return;
    if (msg.type === 'notification') {
      this.o.log.warn({ peer: this.peerHostId, code: msg.code, reason: msg.reason }, 'mesh: peer closed the session');
      this.lastError = `peer: ${msg.code}: ${msg.reason}`;
      this.o.transport.close(1000, 'notification received');
      this.teardown('transport', `peer sent ${msg.code}`);
      return;
    }
    if (this.state === 'open-sent') {
      if (msg.type !== 'open') throw new ProtocolError('fsm-error', `expected OPEN, got ${msg.type.toUpperCase()}`);
      this.acceptOpen(msg);
      return;
    }
    switch (msg.type) {
      case 'open':
        throw new ProtocolError('fsm-error', 'second OPEN on an open session');
      case 'keepalive':
        return;
      case 'update': {
        this.counters.recordsIn += msg.records.length;
        const records = this.checkVteps(msg.records);
        if (this.syncKeys) for (const r of records) this.syncKeys.set(r.key, recordDot(r));
        const res = await this.o.registry.applyRemote(records, this.peerHostId!, msg.vv);
        this.counters.rejected += res.rejected;
        return;
      }
      case 'eor': {
        if (this.state !== 'syncing') throw new ProtocolError('fsm-error', 'second END_OF_RIB');
        await this.o.registry.applyRemote([], this.peerHostId!, msg.vv);
        if (msg.full && this.syncKeys) {
          const pruned = await this.o.registry.pruneAfterFullSync(this.syncKeys, msg.vv, msg.gcFloor);
          this.o.log.info({ peer: this.peerHostId, pruned }, 'mesh: full resync done');
        }
        this.syncKeys = undefined;
        // Closed while the END_OF_RIB was being applied (hold expiry, collision, transport loss
        // during the fsync): what it vouched for arrived before it, so the merge above stands, but
        // the session stays closed. Reopening it here once let it apply later frames after having
        // dropped the ones that arrived while it was closed, and their vectors then covered the
        // dropped records (docs/mesh-protocol.md, section 3, "Closing").
        if (this.ended) return;
        this.state = 'established';
        this.o.hooks.onSynced(this);
        return;
      }
      case 'peers':
        if (!this.peerReflector) throw new ProtocolError('fsm-error', 'PEERS from a peer that is not a reflector');
        this.peersVteps = msg.vteps ?? {};
        this.o.hooks.onPeers(this, msg.up, this.peersVteps);
        return;
    }
  }

  private acceptOpen(msg: OpenMsg): void {
    if (!SUPPORTED_VERSIONS.includes(msg.version)) {
      throw new ProtocolError('unsupported-version', `protocol version ${msg.version} is not supported; this agent speaks ${SUPPORTED_VERSIONS.join(', ')}`);
    }
    if (msg.hostId === this.o.hostId) throw new ProtocolError('host-id-mismatch', `peer claims our own host id "${msg.hostId}"`);
    if (this.o.expectedHostId !== undefined && msg.hostId !== this.o.expectedHostId) {
      throw new ProtocolError('host-id-mismatch', `peer claims host id "${msg.hostId}" but the configured peer is "${this.o.expectedHostId}"`);
    }
    if (this.o.certNames !== undefined && !this.o.certNames.includes(msg.hostId)) {
      throw new ProtocolError('host-id-mismatch', `peer claims host id "${msg.hostId}" but its certificate names ${this.o.certNames.map((n) => `"${n}"`).join(', ') || 'nothing'}`);
    }
    const denied = this.o.authorize(msg.hostId);
    if (denied) throw new ProtocolError('not-authorized', denied);
    this.checkOpenVtep(msg);
    this.peerVtep = msg.vtep;
    this.peerHostId = msg.hostId;
    this.peerReflector = msg.reflector;
    this.holdMs = Math.min(this.o.holdMs, msg.holdMs);
    this.state = 'syncing';
    if (!this.o.hooks.onOpen(this)) {
      this.close('connection-collision', `another session with "${msg.hostId}" is kept`);
      return;
    }
    this.resetHold();
    this.keepaliveTimer = this.o.timers.setTimeout(() => this.keepalive(), Math.min(this.o.keepaliveMs, Math.floor(this.holdMs / 3)));
    // Snapshot and subscription happen in the same turn: every commit after the snapshot reaches
    // the listener, every commit before it is in the snapshot.
    const { records, vv, full, gcFloor } = this.o.registry.changesSince(msg.vv);
    this.o.registry.on('replicate', this.onReplicate);
    this.subscribed = true;
    if (records.length) this.enqueue({ records, next: 0, counted: false });
    this.queue.push({ control: JSON.stringify(full ? { type: 'eor', vv, full, gcFloor } : { type: 'eor', vv, full }) });
    this.o.log.info({ peer: msg.hostId, direction: this.o.direction, sending: records.length, full }, 'mesh: session open, initial sync');
    this.flush();
  }

  /**
   * A VTEP belongs to one host (docs/mesh-protocol.md "VTEP binding"): the one the certificate names
   * when it has IP SANs, never ours, and not one another host holds now.
   */
  private checkOpenVtep(msg: OpenMsg): void {
    if (msg.vtep === this.o.registry.vtep) {
      throw new ProtocolError('vtep-mismatch', `peer "${msg.hostId}" claims VTEP ${msg.vtep}, which is this agent's own (${this.o.hostId}); give each host its own vtepIp`);
    }
    const ips = this.o.certIps?.();
    if (ips?.length && !ips.includes(msg.vtep)) {
      throw new ProtocolError('vtep-mismatch', `peer "${msg.hostId}" claims VTEP ${msg.vtep} but its certificate names ${ips.join(', ')}; fix its vtepIp or reissue its certificate (bumless cert host --ip)`);
    }
    const owner = this.o.registry.vtepHolder(msg.vtep, msg.hostId) ?? this.o.vtepOwner?.(msg.vtep, msg.hostId);
    if (owner !== undefined) {
      throw new ProtocolError('vtep-mismatch', `peer "${msg.hostId}" claims VTEP ${msg.vtep}, which host "${owner}" holds; give each host its own vtepIp`);
    }
  }

  /**
   * Drops live endpoint records whose VTEP is not their host's: a direct peer's own records must
   * carry the VTEP of its OPEN; a relayed record the VTEP its origin announced (in an OPEN to us or
   * to a reflector that reports it), when known. Tombstones carry no address and pass.
   */
  private checkVteps(records: ReplicatedRecord[]): ReplicatedRecord[] {
    const kept: ReplicatedRecord[] = [];
    let first: { r: EndpointRecord; bound: string } | undefined;
    let n = 0;
    for (const r of records) {
      if (r.kind === 'endpoint' && !r.deleted && r.origin !== this.o.hostId) {
        const bound = r.origin === this.peerHostId ? this.peerVtep : this.o.vtepOf?.(r.origin);
        if (bound !== undefined && bound !== r.value.vtep) {
          first ??= { r, bound };
          n++;
          continue;
        }
      }
      kept.push(r);
    }
    if (first) {
      this.counters.rejected += n;
      this.counters.vtepRejected += n;
      this.o.log.warn(
        { peer: this.peerHostId, origin: first.r.origin, key: first.r.key, vtep: first.r.value.vtep, bound: first.bound, records: n },
        'mesh: rejected endpoint records whose VTEP is not the one their host announced',
      );
    }
    return kept;
  }

  // ---------------------------------------------------------------- outbound

  private enqueueDelta(b: ReplicateBatch): void {
    if (this.state === 'closed') return;
    // Reflectors relay everything; other agents announce only what they originated (full mesh:
    // every origin talks to every peer itself), and vouch only for their own counter.
    const records: ReplicatedRecord[] = this.o.reflector ? b.records : b.records.filter((r) => r.origin === this.o.hostId);
    const vv: VersionVector = this.o.reflector ? b.vv : { [this.o.hostId]: b.vv[this.o.hostId] ?? 0 };
    if (!records.length && !this.o.reflector) return;
    this.enqueue({ records, next: 0, counted: true, ...(vv ? { vv } : {}) });
    this.flush();
    // Judged after the socket took what it could, so one large batch to a fast peer is not an overflow.
    const max = this.o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (this.queuedBytes > max) {
      this.close('send-queue-overflow', `${this.queuedBytes} bytes of updates queued for a peer that does not read them (limit ${max}); it resyncs by version vector on reconnect`);
    }
  }

  private enqueue(item: QueuedBatch): void {
    this.queue.push(item);
    this.queuedRecords += item.records.length;
    queuedDelta(item.records.length);
    if (item.counted) for (const r of item.records) this.queuedBytes += serialise(r).bytes;
  }

  private sendControl(msg: MeshMessage): void {
    this.queue.push({ control: JSON.stringify(msg) });
    this.flush();
  }

  /** Back-pressure: stop while the socket holds more than a few frames; resume from send callbacks. */
  private flush(): void {
    if (this.sending || this.state === 'closed') return;
    const highWater = Math.max(1 << 20, this.o.maxPayload * 2);
    if (this.queue.length && this.o.transport.bufferedAmount() >= highWater) {
      // Nothing of ours in flight to call us back: look again shortly.
      this.retryTimer ??= this.o.timers.setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, 20);
      return;
    }
    while (this.queue.length && this.o.transport.bufferedAmount() < highWater) {
      const frame = this.nextFrame();
      if (frame === undefined) continue;
      this.sending = true;
      this.counters.framesOut++;
      let called = false;
      let returned = false;
      this.o.transport.send(frame, (err) => {
        called = true;
        if (err) {
          this.transportClosed(`send failed: ${err.message}`);
          return;
        }
        if (!returned) return;
        this.sending = false;
        this.flush();
      });
      returned = true;
      // Over the high-water mark: wait for the socket to take the frame (its callback resumes).
      if (!called && this.o.transport.bufferedAmount() >= highWater) return;
      this.sending = false;
    }
  }

  private nextFrame(): string | undefined {
    const head = this.queue[0]!;
    if ('control' in head) {
      this.queue.shift();
      return head.control;
    }
    // Split a batch into frames under maxPayload, measured in UTF-8 bytes; the vouched vector rides
    // on the last frame only.
    const budget = Math.floor(this.o.maxPayload * 0.9) - 200 - (head.vv ? Buffer.byteLength(JSON.stringify(head.vv)) : 0);
    const parts: string[] = [];
    let size = 0;
    while (head.next < head.records.length && parts.length < MAX_RECORDS_PER_FRAME) {
      const s = serialise(head.records[head.next]!);
      if (parts.length > 0 && size + s.bytes + 1 > budget) break;
      parts.push(s.text);
      size += s.bytes + 1;
      if (head.counted) this.queuedBytes -= s.bytes;
      head.next++;
    }
    this.queuedRecords -= parts.length;
    queuedDelta(-parts.length);
    const last = head.next >= head.records.length;
    if (last) this.queue.shift();
    if (!parts.length && !(last && head.vv)) return undefined;
    this.counters.recordsOut += parts.length;
    const vv = last && head.vv ? `,"vv":${JSON.stringify(head.vv)}` : '';
    return `{"type":"update","records":[${parts.join(',')}]${vv}}`;
  }

  // ---------------------------------------------------------------- timers

  private keepalive(): void {
    if (this.state === 'closed') return;
    if (this.queue.length === 0) this.sendControl({ type: 'keepalive' });
    this.keepaliveTimer = this.o.timers.setTimeout(() => this.keepalive(), Math.min(this.o.keepaliveMs, Math.floor(this.holdMs / 3)));
  }

  private resetHold(): void {
    if (this.holdTimer !== undefined) this.o.timers.clearTimeout(this.holdTimer);
    this.holdTimer = this.o.timers.setTimeout(() => this.close('hold-timer-expired', `nothing received for ${this.holdMs} ms`), this.holdMs);
  }

  private teardown(code: NotificationCode | 'transport', reason: string): void {
    this.ended = true;
    this.state = 'closed';
    if (this.holdTimer !== undefined) this.o.timers.clearTimeout(this.holdTimer);
    if (this.keepaliveTimer !== undefined) this.o.timers.clearTimeout(this.keepaliveTimer);
    if (this.retryTimer !== undefined) this.o.timers.clearTimeout(this.retryTimer);
    if (this.subscribed) this.o.registry.off('replicate', this.onReplicate);
    this.subscribed = false;
    this.queue.length = 0;
    queuedDelta(-this.queuedRecords);
    this.queuedRecords = 0;
    this.queuedBytes = 0;
    this.o.hooks.onClose(this, code, reason);
  }
}
