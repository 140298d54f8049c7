// The OpenFlow 1.3 session to one bridge (issue #4 item 3): connect, HELLO with version-bitmap
// negotiation, FEATURES, PORT_DESC, SET_CONFIG, SET_ASYNC; echo both ways with an inactivity timeout;
// reconnect with exponential back-off; xid allocation and request/reply tracking; every OFPT_ERROR
// matched to the message that caused it. This is the one place that writes to the switch.
//
// Time comes from an injected Timers, the byte stream from an injected Connector: unit tests run the
// whole state machine against an in-memory switch with a fake clock.
import { EventEmitter } from 'node:events';
import { Writer } from 'node-openflow';
import {
  decodeFlowReplyPerEntry, decodeMessage, encodeFlowModInto, encodeMessage, encodeMessages, newFramer,
  type DumpedFlow, type FlowModCommand, type FlowModFields, type Framer,
} from './codec.js';
export type { DumpedFlow, FlowModCommand, FlowModFields, UndecodableFlow } from './codec.js';
import { realTimers, type TimerHandle, type Timers } from './clock.js';
import { SwitchError } from './errors.js';
import { describeTarget, netConnector, type ByteStream, type Connector, type OpenFlowTarget } from './transport.js';
import type {
  BundleFlag,
  FlowModBody,
  FlowStatsRequest,
  Instruction,
  Match,
  MessageOf,
  OFMessage,
  PortDesc,
} from './oftypes.js';

export type SessionState = 'idle' | 'connecting' | 'handshake' | 'connected' | 'backoff' | 'stopped';

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface SessionOptions {
  target: OpenFlowTarget;
  connector?: Connector;
  timers?: Timers;
  logger?: Logger;
  /** Send an echo request after this much silence from the switch. */
  echoIntervalMs?: number;
  /** Drop the connection after this much silence (an unanswered echo included). */
  inactivityTimeoutMs?: number;
  /** First reconnect delay; doubles per failed attempt up to reconnectMaxMs. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Default time to wait for a reply. */
  requestTimeoutMs?: number;
  /** OFPT_ERROR records kept for status. */
  errorRingSize?: number;
  /** Messages encoded into one buffer per socket write when sending many. */
  writeBatch?: number;
  /**
   * Bounds on one multipart reply split with REPLY_MORE, so a misbehaving switch cannot grow memory or
   * keep a request alive forever: body entries (default 2,000,000: twice a 1M-flow dump), wire bytes
   * (default 512 MiB) and total time (default 300 s, never less than the request's own timeout, which
   * still applies between parts).
   */
  multipartMaxEntries?: number;
  multipartMaxBytes?: number;
  multipartMaxMs?: number;
}

/** What an OFPT_ERROR said, and about which message. */
export interface OfpErrorRecord {
  at: number;
  xid: number;
  errType: string;
  code: string;
  /** The type of the message that caused it, when known ('BUNDLE_ADD_MESSAGE/FLOW_MOD' for a flow in a bundle). */
  causeType?: string;
  /** For a FLOW_MOD (also inside a bundle): the flow that was rejected. */
  flow?: { command: string; tableId: number | string; priority: number; match: Match; instructions: Instruction[]; cookie: bigint };
  /** For a flow mod streamed by streamBundles(): its index in the FlowModList. */
  index?: number;
  text: string;
}

export interface PortInfo {
  name: string;
  ofport: number;
  hwAddr: string;
  up: boolean;
}

export interface SessionStatus {
  state: SessionState;
  target: string;
  datapathId?: bigint;
  connectedSince?: number;
  connects: number;
  lastDisconnect?: { at: number; reason: string };
  /** Why the last connection attempt or connection failed (cleared by nothing: history for status). */
  lastFailure?: { at: number; reason: string };
  errors: { total: number; byType: Record<string, number>; recent: OfpErrorRecord[] };
  decodeErrors: number;
  /**
   * Flow entries of FLOW dumps the codec could not decode whole: kept without instructions (still
   * deletable by identity) or, when even the match was unreadable, left out. Counted per dump.
   */
  undecodableFlows: number;
  ports: number;
}

export interface BundleResult {
  bundleId: number;
  messages: number;
  /** OFPT_ERRORs matched to messages of this bundle (including its commit). */
  errors: OfpErrorRecord[];
  committed: boolean;
}

/**
 * Flow mods read by index, so that a diff of 100,000 changes is encoded straight onto the socket
 * without a message object per flow mod (streamBundles()). Entries must not change until streamBundles() settles.
 */
export interface FlowModList {
  readonly length: number;
  command(i: number): FlowModCommand;
  flow(i: number): FlowModFields;
}

/** One bundle streamed by streamBundles(): it carried the flow mods [start, end) of the list. */
export interface StreamedBundle extends BundleResult {
  start: number;
  end: number;
}

export interface BundlesOptions {
  /** Time allowed for each control step (open, commit, barrier). */
  timeoutMs?: number;
  /** Flow mods per bundle; a longer list becomes several bundles, committed in order. Default: one bundle. */
  maxBundleFlows?: number;
}

/**
 * The xids of one streamed bundle's flow mods: the flow mod at list index offset + k has xid base + k.
 * An OFPT_ERROR is attributed through this range instead of a tracked message per flow mod.
 */
interface XidRange {
  base: number;
  count: number;
  offset: number;
  bundleId: number;
  list: FlowModList;
  errors: OfpErrorRecord[];
  /** Errors past MAX_RANGE_ERRORS: counted only. */
  dropped: number;
}

/** Errors kept (and logged, and emitted) per streamed bundle; a bundle fails on the first anyway. */
const MAX_RANGE_ERRORS = 100;

/** Batches written between two looks at what the switch answered, when the socket never pushes back. */
const STREAM_READ_EVERY = 4;

/** Bytes reserved per flow mod of a streamed batch (the pipeline's are 150-300 bytes; the buffer grows if needed). */
const STREAM_BYTES_PER_MOD = 256;

interface Pending {
  msg: OFMessage;
  resolve: (m: OFMessage[]) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
  timeoutMs: number;
  parts: OFMessage[];
  multipart: boolean;
  /** A multipart request's overall deadline: not re-armed by reply parts. */
  deadline?: TimerHandle;
  entries: number;
  bytes: number;
}

/** Most xids whose abandoned multipart replies are still being dropped (oldest forgotten first). */
const MAX_DISCARDING = 1024;

interface Tracked {
  msg: OFMessage;
  onError?: (r: OfpErrorRecord) => void;
}

/** An OFPT_ERROR in answer to a request. */
export class OpenFlowRequestError extends SwitchError {
  constructor(readonly record: OfpErrorRecord) {
    super('SWITCH_OFP_ERROR', record.text);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Outgoing = DistributiveOmit<OFMessage, 'xid'>;

export interface SessionEvents {
  state: [SessionState];
  connected: [{ datapathId: bigint; ports: ReadonlyMap<string, PortInfo> }];
  disconnected: [{ reason: string }];
  'port-status': [{ reason: string; port: PortInfo }];
  'ofp-error': [OfpErrorRecord];
  message: [OFMessage];
}

const OFP13 = 4;
/** OFPPR_* bits for SET_ASYNC: port status ADD, DELETE, MODIFY. */
const PORT_STATUS_ALL = 0b111;

export class OpenFlowSession extends EventEmitter<SessionEvents> {
  readonly #o: Required<Omit<SessionOptions, 'connector' | 'timers' | 'logger' | 'target'>>;
  readonly #target: OpenFlowTarget;
  readonly #connector: Connector;
  readonly #timers: Timers;
  readonly #log: Logger;

  #state: SessionState = 'idle';
  #stream: ByteStream | undefined;
  #framer: Framer | undefined;
  #epoch = 0;
  #xid = 0;
  #bundleId = 0;
  #attempt = 0;
  #reconnectTimer: TimerHandle | undefined;
  #echoTimer: TimerHandle | undefined;
  #lastRx = 0;
  /** When the unanswered echo request was sent; undefined when none is outstanding. */
  #echoSentAt: number | undefined;
  #needDrain = false;
  #drainWaiters: (() => void)[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #tracked = new Map<number, Tracked>();
  /** xids of multipart requests failed while the switch was still sending parts: the rest is dropped. */
  readonly #discarding = new Set<number>();
  /** xid ranges of bundles being streamed (streamBundles()): a handful at most. */
  readonly #ranges: XidRange[] = [];
  #hello: { resolve: (m: MessageOf<'HELLO'>) => void; reject: (e: Error) => void } | undefined;

  #datapathId: bigint | undefined;
  #connectedSince: number | undefined;
  #connects = 0;
  #lastDisconnect: { at: number; reason: string } | undefined;
  #lastFailure: { at: number; reason: string } | undefined;
  readonly #portsByName = new Map<string, PortInfo>();
  readonly #portsByNo = new Map<number, PortInfo>();
  readonly #errorRing: OfpErrorRecord[] = [];
  #errorTotal = 0;
  readonly #errorsByType: Record<string, number> = {};
  #decodeErrors = 0;
  #undecodableFlows = 0;

  constructor(opts: SessionOptions) {
    super();
    this.#target = opts.target;
    this.#connector = opts.connector ?? netConnector;
    this.#timers = opts.timers ?? realTimers;
    this.#log = opts.logger ?? silentLogger;
    this.#o = {
      echoIntervalMs: opts.echoIntervalMs ?? 5000,
      inactivityTimeoutMs: opts.inactivityTimeoutMs ?? 10000,
      reconnectMinMs: opts.reconnectMinMs ?? 100,
      reconnectMaxMs: opts.reconnectMaxMs ?? 8000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 10000,
      errorRingSize: opts.errorRingSize ?? 64,
      writeBatch: opts.writeBatch ?? 512,
      multipartMaxEntries: opts.multipartMaxEntries ?? 2_000_000,
      multipartMaxBytes: opts.multipartMaxBytes ?? 512 * 1024 * 1024,
      multipartMaxMs: opts.multipartMaxMs ?? 300_000,
    };
  }

  get state(): SessionState {
    return this.#state;
  }

  get datapathId(): bigint | undefined {
    return this.#datapathId;
  }

  /** Port name -> port, kept current by PORT_STATUS. */
  get ports(): ReadonlyMap<string, PortInfo> {
    return this.#portsByName;
  }

  ofport(name: string): number | undefined {
    return this.#portsByName.get(name)?.ofport;
  }

  portName(ofport: number): string | undefined {
    return this.#portsByNo.get(ofport)?.name;
  }

  status(): SessionStatus {
    return {
      state: this.#state,
      target: describeTarget(this.#target),
      ...(this.#datapathId !== undefined && { datapathId: this.#datapathId }),
      ...(this.#connectedSince !== undefined && { connectedSince: this.#connectedSince }),
      connects: this.#connects,
      ...(this.#lastDisconnect && { lastDisconnect: this.#lastDisconnect }),
      ...(this.#lastFailure && { lastFailure: this.#lastFailure }),
      errors: { total: this.#errorTotal, byType: { ...this.#errorsByType }, recent: [...this.#errorRing] },
      decodeErrors: this.#decodeErrors,
      undecodableFlows: this.#undecodableFlows,
      ports: this.#portsByName.size,
    };
  }

  /** Starts connecting; the session keeps reconnecting until stop(). */
  start(): void {
    if (this.#state !== 'idle' && this.#state !== 'stopped') return;
    this.#attempt = 0;
    void this.#connect();
  }

  stop(): void {
    if (this.#state === 'stopped') return;
    if (this.#reconnectTimer) this.#timers.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#teardown('session stopped', 'SWITCH_CLOSED');
    this.#setState('stopped');
  }

  /** Resolves once connected (immediately when already connected). */
  whenConnected(): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    return new Promise((resolve) => this.once('connected', () => resolve()));
  }

  /** Drops the current connection (for tests and after a protocol violation); reconnects with back-off. */
  disconnect(reason: string): void {
    if (this.#stream) this.#lose(reason);
  }

  // ------------------------------------------------------------------------------------------
  // Connection lifecycle

  #setState(s: SessionState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }

  async #connect(): Promise<void> {
    this.#reconnectTimer = undefined;
    this.#setState('connecting');
    const epoch = ++this.#epoch;
    let stream: ByteStream;
    try {
      stream = await this.#connector(this.#target);
    } catch (err) {
      if (epoch !== this.#epoch || this.#state === 'stopped') return;
      this.#scheduleReconnect(`cannot connect to ${describeTarget(this.#target)}: ${(err as Error).message}`);
      return;
    }
    if (epoch !== this.#epoch || this.#state === 'stopped') {
      stream.destroy();
      return;
    }
    this.#stream = stream;
    this.#framer = newFramer();
    this.#needDrain = false;
    this.#lastRx = this.#timers.now();
    this.#echoSentAt = undefined;
    stream.on('data', (chunk) => {
      if (epoch === this.#epoch) this.#onData(chunk);
    });
    stream.on('drain', () => {
      if (epoch === this.#epoch) this.#onDrain();
    });
    stream.on('error', (err) => {
      if (epoch === this.#epoch) this.#lose(`connection error: ${err.message}`);
    });
    stream.on('close', () => {
      if (epoch === this.#epoch) this.#lose('connection closed by the switch');
    });
    this.#setState('handshake');
    this.#armEcho();
    try {
      await this.#handshake(epoch);
    } catch (err) {
      if (epoch === this.#epoch && this.#stream) this.#lose((err as Error).message);
      return;
    }
  }

  async #handshake(epoch: number): Promise<void> {
    const helloXid = this.#nextXid();
    const hello = new Promise<MessageOf<'HELLO'>>((resolve, reject) => (this.#hello = { resolve, reject }));
    this.#writeNow({ type: 'HELLO', xid: helloXid, version: OFP13, elements: [{ type: 'VERSIONBITMAP', versions: [OFP13] }] });
    const peer = await this.#withTimeout(hello, this.#o.requestTimeoutMs, 'no HELLO from the switch');
    this.#checkVersion(peer);

    const features = await this.request({ type: 'FEATURES_REQUEST' });
    if (epoch !== this.#epoch) return;
    if (features.type !== 'FEATURES_REPLY') throw new SwitchError('SWITCH_OFP_ERROR', `the switch answered FEATURES_REQUEST with ${features.type}`);
    this.#datapathId = features.datapathId;

    const portParts = await this.multipart({ type: 'MULTIPART_REQUEST', mpType: 'PORT_DESC', flags: [] });
    this.#portsByName.clear();
    this.#portsByNo.clear();
    for (const p of portParts.flatMap((m) => (m.type === 'MULTIPART_REPLY' && m.mpType === 'PORT_DESC' ? m.body : []))) {
      this.#setPort(p);
    }

    // No packet-ins (miss_send_len 0, packet-in mask empty): the pipeline never punts to the controller,
    // and a packet-in stream would only be a way for tenants to load the agent.
    this.send({ type: 'SET_CONFIG', flags: 0, missSendLen: 0 });
    this.send({
      type: 'SET_ASYNC',
      packetInMask: [0, 0],
      portStatusMask: [PORT_STATUS_ALL, PORT_STATUS_ALL],
      flowRemovedMask: [0, 0],
    });
    await this.barrier();
    if (epoch !== this.#epoch) return;

    this.#attempt = 0;
    this.#connects++;
    this.#connectedSince = this.#timers.now();
    this.#setState('connected');
    this.#log.info(
      { target: describeTarget(this.#target), datapathId: `0x${features.datapathId.toString(16).padStart(16, '0')}`, ports: this.#portsByName.size },
      'connected to switch',
    );
    this.emit('connected', { datapathId: features.datapathId, ports: this.#portsByName });
  }

  #checkVersion(peer: MessageOf<'HELLO'>): void {
    const bitmap = peer.elements.find((e): e is { type: 'VERSIONBITMAP'; versions: number[] } => e.type === 'VERSIONBITMAP');
    const peerVersion = peer.version ?? OFP13;
    const ok = bitmap ? bitmap.versions.includes(OFP13) : peerVersion >= OFP13;
    if (ok) return;
    const offered = bitmap ? bitmap.versions : [peerVersion];
    const names = offered.map((v) => `1.${v - 1}`).join(', ');
    const text = `the switch at ${describeTarget(this.#target)} offers OpenFlow ${names} but not 1.3; enable it, e.g. ovs-vsctl set bridge br-int protocols=OpenFlow10,OpenFlow13`;
    this.#writeNow({
      type: 'ERROR',
      xid: peer.xid,
      errType: 'HELLO_FAILED',
      code: 'INCOMPATIBLE',
      data: Buffer.from('bumless requires OpenFlow 1.3'),
    });
    throw new SwitchError('SWITCH_NO_OF13', text);
  }

  /** Connection lost: fail what was in flight, then reconnect after a back-off. */
  #lose(reason: string): void {
    if (this.#state === 'stopped') return;
    this.#teardown(reason, 'SWITCH_DISCONNECTED');
    this.#scheduleReconnect(reason);
  }

  #teardown(reason: string, code: 'SWITCH_DISCONNECTED' | 'SWITCH_CLOSED'): void {
    const wasConnected = this.#state === 'connected';
    this.#epoch++;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#framer = undefined;
    this.#hello?.reject(new SwitchError(code, `no HELLO: ${reason}`));
    this.#hello = undefined;
    if (this.#echoTimer) this.#timers.clearTimeout(this.#echoTimer);
    this.#echoTimer = undefined;
    stream?.destroy();
    for (const [, p] of this.#pending) {
      this.#clearTimers(p);
      p.reject(new SwitchError(code, `${p.msg.type} not answered: ${reason}`));
    }
    this.#pending.clear();
    this.#tracked.clear();
    this.#discarding.clear();
    this.#ranges.length = 0;
    this.#connectedSince = undefined;
    for (const w of this.#drainWaiters.splice(0)) w();
    this.#needDrain = false;
    if (stream) {
      this.#lastDisconnect = { at: this.#timers.now(), reason };
      if (wasConnected) {
        if (code === 'SWITCH_CLOSED') this.#log.info({ reason }, 'disconnected from switch');
        else this.#log.warn({ reason }, 'disconnected from switch');
      }
      this.emit('disconnected', { reason });
    }
  }

  #scheduleReconnect(reason: string): void {
    this.#lastFailure = { at: this.#timers.now(), reason };
    const delay = Math.min(this.#o.reconnectMaxMs, this.#o.reconnectMinMs * 2 ** this.#attempt);
    this.#attempt++;
    this.#setState('backoff');
    this.#log.debug({ reason, delayMs: delay, attempt: this.#attempt }, 'reconnecting to switch');
    if (this.#attempt === 1 || delay === this.#o.reconnectMaxMs) this.#log.warn({ reason, retryInMs: delay }, 'switch not reachable');
    this.#reconnectTimer = this.#timers.setTimeout(() => void this.#connect(), delay);
  }

  /**
   * One timer covers both echo and inactivity: an echo request after echoIntervalMs of silence, and
   * the connection dropped only when that echo has had inactivityTimeoutMs - echoIntervalMs to be
   * answered. A drop therefore always follows an unanswered echo: if our own event loop was blocked
   * (a large diff) past the deadline, the late timer sends an echo instead of blaming the switch.
   */
  #armEcho(): void {
    if (this.#echoTimer) this.#timers.clearTimeout(this.#echoTimer);
    const now = this.#timers.now();
    const grace = this.#o.inactivityTimeoutMs - this.#o.echoIntervalMs;
    const due = this.#echoSentAt === undefined
      ? this.#lastRx + this.#o.echoIntervalMs
      : Math.max(this.#lastRx + this.#o.inactivityTimeoutMs, this.#echoSentAt + grace);
    const epoch = this.#epoch;
    this.#echoTimer = this.#timers.setTimeout(() => {
      if (epoch === this.#epoch) this.#onEchoTimer();
    }, Math.max(1, due - now));
  }

  #onEchoTimer(): void {
    this.#echoTimer = undefined;
    const now = this.#timers.now();
    const idle = now - this.#lastRx;
    if (this.#echoSentAt === undefined) {
      if (idle >= this.#o.echoIntervalMs) {
        this.#echoSentAt = now;
        this.#writeNow({ type: 'ECHO_REQUEST', xid: this.#nextXid(), data: new Uint8Array(0) });
      }
    } else if (idle >= this.#o.inactivityTimeoutMs && now - this.#echoSentAt >= this.#o.inactivityTimeoutMs - this.#o.echoIntervalMs) {
      this.#lose(`no message from the switch for ${idle} ms, echo request unanswered (inactivity timeout ${this.#o.inactivityTimeoutMs} ms)`);
      return;
    }
    this.#armEcho();
  }

  // ------------------------------------------------------------------------------------------
  // Receiving

  #onData(chunk: Buffer): void {
    this.#lastRx = this.#timers.now();
    if (this.#echoSentAt !== undefined) {
      // Any message proves the switch is alive; the echo reply is not special.
      this.#echoSentAt = undefined;
      this.#armEcho();
    }
    let frames: Buffer[];
    try {
      frames = this.#framer?.push(chunk) ?? [];
    } catch (err) {
      // A broken length field leaves no way to find the next message boundary.
      this.#decodeErrors++;
      this.#lose(`undecodable stream from the switch: ${(err as Error).message}`);
      return;
    }
    const epoch = this.#epoch;
    for (const frame of frames) {
      if (epoch !== this.#epoch) return;
      let msg: OFMessage;
      try {
        msg = decodeMessage(frame);
      } catch (err) {
        const perEntry = this.#decodeFlowReply(frame, err as Error);
        if (perEntry) {
          this.#dispatch(perEntry, frame.length);
          continue;
        }
        this.#decodeErrors++;
        const xid = frame.length >= 8 ? frame.readUInt32BE(4) : -1;
        this.#log.warn({ err: (err as Error).message, xid, type: frame[1] }, 'cannot decode a message from the switch');
        const p = this.#pending.get(xid);
        if (p) this.#settle(xid, undefined, new SwitchError('SWITCH_OFP_ERROR', `reply to ${p.msg.type} cannot be decoded: ${(err as Error).message}`));
        continue;
      }
      this.#dispatch(msg, frame.length);
    }
  }

  /**
   * A FLOW stats reply with one flow the codec cannot read (a foreign flow with an action it does not
   * know) is decoded entry by entry, so the dump still lists every other flow and that one by identity.
   */
  #decodeFlowReply(frame: Buffer, err: Error): OFMessage | undefined {
    const r = decodeFlowReplyPerEntry(frame);
    if (!r) return undefined;
    const n = r.undecodable.length + r.lost.length;
    this.#undecodableFlows += n;
    this.#log.warn(
      {
        err: err.message,
        xid: r.msg.xid,
        kept: r.undecodable.map((f) => ({ table: f.tableId, priority: f.priority, cookie: `0x${f.cookie.toString(16)}`, error: f.undecodable?.error })),
        lost: r.lost,
      },
      `${n} flow(s) in a FLOW dump cannot be decoded; ${r.undecodable.length} kept by identity (no instructions), ${r.lost.length} left out`,
    );
    return r.msg;
  }

  /** `bytes`: the message's length on the wire (counted against the multipart byte limit). */
  #dispatch(msg: OFMessage, bytes = 0): void {
    switch (msg.type) {
      case 'HELLO':
        this.#hello?.resolve(msg);
        this.#hello = undefined;
        return;
      case 'ECHO_REQUEST':
        this.#writeNow({ type: 'ECHO_REPLY', xid: msg.xid, data: msg.data });
        return;
      case 'ECHO_REPLY':
        return;
      case 'ERROR':
        this.#onError(msg);
        return;
      case 'PORT_STATUS': {
        const info = this.#setPort(msg.port, msg.reason === 'DELETE');
        this.emit('port-status', { reason: String(msg.reason), port: info });
        return;
      }
      case 'MULTIPART_REPLY': {
        const p = this.#pending.get(msg.xid);
        if (p && p.multipart) {
          this.#onMultipartPart(p, msg, bytes);
          return;
        }
        if (!p && this.#discarding.has(msg.xid)) {
          // The rest of a reply already given up on: neither a new request's answer nor news for listeners.
          if (!msg.flags.includes('REPLY_MORE')) this.#discarding.delete(msg.xid);
          return;
        }
        break;
      }
      case 'BARRIER_REPLY': {
        // The switch answers in order: everything sent before this barrier is done.
        for (const xid of this.#tracked.keys()) {
          if (xid === msg.xid) break;
          this.#tracked.delete(xid);
        }
        this.#tracked.delete(msg.xid);
        break;
      }
      default:
        break;
    }
    if (this.#pending.has(msg.xid)) {
      this.#settle(msg.xid, [msg]);
      return;
    }
    this.emit('message', msg);
  }

  #onMultipartPart(p: Pending, msg: MessageOf<'MULTIPART_REPLY'>, bytes: number): void {
    const more = msg.flags.includes('REPLY_MORE');
    const wanted = p.msg.type === 'MULTIPART_REQUEST' ? p.msg.mpType : undefined;
    const what = `the reply to MULTIPART_REQUEST/${wanted ?? '?'} (xid ${msg.xid})`;
    if (wanted !== undefined && msg.mpType !== wanted) {
      this.#failMultipart(p, more, `${what} came as ${msg.mpType}: the switch mixed up replies; the request was abandoned, retry it`);
      return;
    }
    p.parts.push(msg);
    p.entries += Array.isArray(msg.body) ? msg.body.length : 1;
    p.bytes += bytes;
    if (p.entries > this.#o.multipartMaxEntries) {
      this.#failMultipart(p, more, `${what} exceeds ${this.#o.multipartMaxEntries} entries after ${p.parts.length} parts: abandoned; check the switch for a runaway table`);
      return;
    }
    if (p.bytes > this.#o.multipartMaxBytes) {
      this.#failMultipart(p, more, `${what} exceeds ${this.#o.multipartMaxBytes} bytes after ${p.parts.length} parts: abandoned; check the switch for a runaway table`);
      return;
    }
    if (more) {
      // Parts that keep coming keep the request alive, up to its overall deadline.
      this.#timers.clearTimeout(p.timer);
      p.timer = this.#armRequestTimer(msg.xid, p.timeoutMs);
      return;
    }
    this.#settle(msg.xid, p.parts);
  }

  /** Fails a multipart request whose reply broke a rule; parts still to come for it are dropped. */
  #failMultipart(p: Pending, more: boolean, text: string, code: 'SWITCH_BAD_REPLY' | 'SWITCH_TIMEOUT' = 'SWITCH_BAD_REPLY'): void {
    const xid = p.msg.xid;
    this.#log.warn({ xid, parts: p.parts.length, entries: p.entries, bytes: p.bytes }, text);
    if (more) {
      this.#discarding.add(xid);
      if (this.#discarding.size > MAX_DISCARDING) {
        const oldest = this.#discarding.values().next().value;
        if (oldest !== undefined) this.#discarding.delete(oldest);
      }
    }
    this.#settle(xid, undefined, new SwitchError(code, text));
  }

  #onError(msg: MessageOf<'ERROR'>): void {
    const range = this.#pending.has(msg.xid) || this.#tracked.has(msg.xid) ? undefined : this.#rangeOf(msg.xid);
    const cause = this.#pending.get(msg.xid)?.msg ?? this.#tracked.get(msg.xid)?.msg ?? (range && rangeMessage(range, msg.xid)) ?? this.#decodeErrorData(msg.data);
    const rec = describeError(msg, cause, this.#timers.now());
    // Flow mods already streamed when the switch refused the bundle itself (its OPEN failed, say) all
    // come back with that bundle error: it fails the bundle but says nothing about the flow, so it gets
    // no index, and past the first few they are logged at debug level and not kept.
    let quiet = false;
    if (range) {
      if (!isBundleError(rec)) rec.index = range.offset + (msg.xid - range.base);
      quiet = range.errors.length >= MAX_RANGE_ERRORS;
      if (quiet) range.dropped++;
      else range.errors.push(rec);
    }
    this.#errorTotal++;
    const key = `${rec.errType}/${rec.code}`;
    this.#errorsByType[key] = (this.#errorsByType[key] ?? 0) + 1;
    if (quiet) {
      this.#log.debug({ xid: rec.xid, errType: rec.errType, code: rec.code }, rec.text);
      return;
    }
    this.#errorRing.push(rec);
    if (this.#errorRing.length > this.#o.errorRingSize) this.#errorRing.shift();
    this.#log.error({ xid: rec.xid, errType: rec.errType, code: rec.code, cause: rec.causeType, flow: rec.flow && flowForLog(rec.flow) }, rec.text);
    this.emit('ofp-error', rec);
    this.#tracked.get(msg.xid)?.onError?.(rec);
    if (this.#pending.has(msg.xid)) this.#settle(msg.xid, undefined, new OpenFlowRequestError(rec));
  }

  /** OVS puts (the start of) the offending message into the error's data. */
  #decodeErrorData(data: Uint8Array): OFMessage | undefined {
    if (data.length < 8) return undefined;
    try {
      return decodeMessage(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    } catch {
      return undefined;
    }
  }

  #setPort(p: PortDesc, deleted = false): PortInfo {
    const ofport = typeof p.portNo === 'number' ? p.portNo : -1;
    const info: PortInfo = { name: p.name, ofport, hwAddr: p.hwAddr, up: !p.config.includes('PORT_DOWN') && !p.state.includes('LINK_DOWN') };
    const old = this.#portsByName.get(p.name);
    if (old) this.#portsByNo.delete(old.ofport);
    if (deleted) {
      this.#portsByName.delete(p.name);
      this.#portsByNo.delete(ofport);
    } else if (ofport >= 0) {
      this.#portsByName.set(p.name, info);
      this.#portsByNo.set(ofport, info);
    }
    return info;
  }

  // ------------------------------------------------------------------------------------------
  // Requests

  #nextXid(): number {
    // Skip 0 (OVS uses it for unsolicited messages) and any xid still awaiting an answer.
    do {
      this.#xid = (this.#xid + 1) >>> 0;
    } while (this.#xid === 0 || this.#pending.has(this.#xid) || this.#tracked.has(this.#xid) || this.#discarding.has(this.#xid) || this.#rangeOf(this.#xid) !== undefined);
    return this.#xid;
  }

  #rangeOf(xid: number): XidRange | undefined {
    for (const r of this.#ranges) if (xid >= r.base && xid < r.base + r.count) return r;
    return undefined;
  }

  /** `n` consecutive xids, none in use and none wrapping past 2^32 - 1; returns the first. */
  #allocXids(n: number): number {
    let base = this.#xid + 1;
    for (;;) {
      if (base + n - 1 > 0xffffffff) base = 1;
      const end = base + n;
      let clash = -1;
      const check = (x: number): void => {
        if (x >= base && x < end && x > clash) clash = x;
      };
      for (const x of this.#pending.keys()) check(x);
      for (const x of this.#tracked.keys()) check(x);
      for (const x of this.#discarding) check(x);
      for (const r of this.#ranges) if (r.base < end && r.base + r.count > base) check(Math.min(end - 1, r.base + r.count - 1));
      if (clash < 0) {
        this.#xid = end - 1;
        return base;
      }
      base = clash + 1;
    }
  }

  #requireStream(what: string): ByteStream {
    if (!this.#stream) {
      throw new SwitchError(this.#state === 'stopped' ? 'SWITCH_CLOSED' : 'SWITCH_DISCONNECTED', `cannot send ${what}: not connected to the switch (${this.#state})`);
    }
    return this.#stream;
  }

  #armRequestTimer(xid: number, ms: number): TimerHandle {
    const h = this.#timers.setTimeout(() => {
      // After our own event loop was blocked, timers run before the socket is read: give the reply
      // that may already be waiting one I/O turn before calling the request lost. A reply part that
      // arrives in that turn re-arms the request with a new timer, which this one must not override.
      setImmediate(() => {
        const p = this.#pending.get(xid);
        if (!p || p.timer !== h) return;
        const text = `no answer to ${p.msg.type} (xid ${xid}) within ${ms} ms`;
        // A multipart reply cut off between parts may still send the rest: drop it when it comes.
        if (p.parts.length > 0) this.#failMultipart(p, true, `${text} after ${p.parts.length} reply parts`, 'SWITCH_TIMEOUT');
        else this.#settle(xid, undefined, new SwitchError('SWITCH_TIMEOUT', text));
      });
    }, ms);
    return h;
  }

  #settle(xid: number, replies: OFMessage[] | undefined, err?: Error): void {
    const p = this.#pending.get(xid);
    if (!p) return;
    this.#pending.delete(xid);
    this.#clearTimers(p);
    if (err) p.reject(err);
    else p.resolve(replies ?? []);
  }

  #clearTimers(p: Pending): void {
    this.#timers.clearTimeout(p.timer);
    if (p.deadline) this.#timers.clearTimeout(p.deadline);
  }

  #expect(msg: OFMessage, multipart: boolean, timeoutMs: number): Promise<OFMessage[]> {
    return new Promise<OFMessage[]>((resolve, reject) => {
      const p: Pending = { msg, resolve, reject, timer: this.#armRequestTimer(msg.xid, timeoutMs), timeoutMs, parts: [], multipart, entries: 0, bytes: 0 };
      if (multipart) {
        const ms = Math.max(timeoutMs, this.#o.multipartMaxMs);
        p.deadline = this.#timers.setTimeout(() => {
          if (this.#pending.get(msg.xid) !== p) return;
          this.#failMultipart(p, p.parts.length > 0, `the reply to ${msg.type}${msg.type === 'MULTIPART_REQUEST' ? `/${msg.mpType}` : ''} (xid ${msg.xid}) is not complete after ${ms} ms (${p.parts.length} parts, ${p.entries} entries): abandoned`, 'SWITCH_TIMEOUT');
        }, ms);
      }
      this.#pending.set(msg.xid, p);
    });
  }

  /** Sends a request and resolves with its single reply; an OFPT_ERROR rejects with OpenFlowRequestError. */
  async request(out: Outgoing, timeoutMs = this.#o.requestTimeoutMs): Promise<OFMessage> {
    this.#requireStream(out.type);
    const msg: OFMessage = { ...out, xid: this.#nextXid() };
    const reply = this.#expect(msg, false, timeoutMs);
    this.#writeNow(msg);
    const [r] = await reply;
    if (!r) throw new SwitchError('SWITCH_OFP_ERROR', `empty answer to ${msg.type}`);
    return r;
  }

  /** Sends a multipart request and resolves with every reply part (REPLY_MORE reassembled). */
  async multipart(out: Outgoing, timeoutMs = this.#o.requestTimeoutMs): Promise<OFMessage[]> {
    this.#requireStream(out.type);
    const msg: OFMessage = { ...out, xid: this.#nextXid() };
    const reply = this.#expect(msg, true, timeoutMs);
    this.#writeNow(msg);
    return reply;
  }

  /** Resolves when the switch has processed everything sent before. */
  async barrier(timeoutMs = this.#o.requestTimeoutMs): Promise<void> {
    await this.request({ type: 'BARRIER_REQUEST' }, timeoutMs);
  }

  /** Sends without waiting for an answer; an OFPT_ERROR for it is still matched, logged and counted. */
  send(out: Outgoing, onError?: (r: OfpErrorRecord) => void): number {
    this.#requireStream(out.type);
    const msg: OFMessage = { ...out, xid: this.#nextXid() };
    this.#tracked.set(msg.xid, onError ? { msg, onError } : { msg });
    this.#writeNow(msg);
    return msg.xid;
  }

  /** Every installed flow, optionally filtered (default: all tables, all cookies). */
  /**
   * Every installed flow, optionally filtered (default: all tables, all cookies). A flow whose
   * instructions the codec cannot decode comes back with `undecodable` set and no instructions.
   */
  async dumpFlows(filter: Partial<FlowStatsRequest> = {}, timeoutMs = this.#o.requestTimeoutMs): Promise<DumpedFlow[]> {
    const body: FlowStatsRequest = { tableId: 'ALL', outPort: 'ANY', outGroup: 'ANY', cookie: 0n, cookieMask: 0n, match: [], ...filter };
    const parts = await this.multipart({ type: 'MULTIPART_REQUEST', mpType: 'FLOW', flags: [], body }, timeoutMs);
    const out: DumpedFlow[] = [];
    for (const m of parts) if (m.type === 'MULTIPART_REPLY' && m.mpType === 'FLOW') for (const f of m.body) out.push(f);
    return out;
  }

  /**
   * Applies flow mods atomically through an ONF bundle (OPEN, one ADD_MESSAGE per flow mod, COMMIT with
   * ATOMIC|ORDERED), then a barrier. Errors for single flow mods are collected into the result; the
   * promise rejects only when the connection goes away or a control step times out.
   */
  async bundle(mods: readonly FlowModBody[], opts: { timeoutMs?: number } = {}): Promise<BundleResult> {
    const timeoutMs = opts.timeoutMs ?? this.#o.requestTimeoutMs;
    const bundleId = (this.#bundleId = (this.#bundleId + 1) >>> 0);
    const flags: BundleFlag[] = ['ATOMIC', 'ORDERED'];
    const errors: OfpErrorRecord[] = [];
    const collect = (r: OfpErrorRecord): void => void errors.push(r);
    const ctl = (ctrlType: 'OPEN_REQUEST' | 'COMMIT_REQUEST'): Promise<boolean> => this.#bundleControl(bundleId, ctrlType, errors, timeoutMs);

    if (!(await ctl('OPEN_REQUEST'))) return { bundleId, messages: mods.length, errors, committed: false };
    const msgs: OFMessage[] = [];
    for (const mod of mods) {
      const xid = this.#nextXid();
      // The inner message's xid equals the outer one: OVS reports a failing flow with it.
      const inner = { ...mod, type: 'FLOW_MOD', xid } as OFMessage;
      const msg: OFMessage = { type: 'BUNDLE_ADD_MESSAGE', xid, bundleId, flags, message: inner, properties: new Uint8Array(0) };
      this.#tracked.set(xid, { msg, onError: collect });
      msgs.push(msg);
    }
    await this.#writeMany(msgs);
    const committed = await ctl('COMMIT_REQUEST');
    await this.barrier(timeoutMs);
    return { bundleId, messages: mods.length, errors, committed: committed && errors.length === 0 };
  }

  /**
   * Streams a list of flow mods as ONF bundles (ATOMIC|ORDERED) of at most `maxBundleFlows` each, then a
   * barrier. Nothing waits for a round trip before the last commit: each bundle's OPEN is not awaited
   * (a failed one shows as its error and an uncommitted result), its flow mods are encoded batch by batch
   * straight onto the socket while the switch is still working on the earlier ones (waiting only for
   * 'drain' when the socket's buffer is full), and a bundle's COMMIT is written once the previous
   * bundle's commit succeeded, so a split never lands a later bundle after a rejected earlier one (that
   * one is discarded instead). An error for a flow mod carries its list index (`index`).
   *
   * Resolves with one result per bundle up to and including the first that was not committed; the flow
   * mods after it were not applied. A flow mod that cannot be encoded is reported as an error of its
   * bundle (errType 'ENCODE'), which is then discarded. Rejects only when the connection goes away or a
   * control step times out.
   */
  async streamBundles(list: FlowModList, opts: BundlesOptions = {}): Promise<StreamedBundle[]> {
    const timeoutMs = opts.timeoutMs ?? this.#o.requestTimeoutMs;
    const want = opts.maxBundleFlows ?? list.length;
    const per = Number.isFinite(want) && want >= 1 ? Math.floor(want) : list.length;
    const results: StreamedBundle[] = [];
    if (list.length === 0) return results;
    this.#requireStream('a bundle');
    const epoch = this.#epoch;
    const mine: XidRange[] = [];
    const quiet = (): void => undefined;
    let previous: Promise<StreamedBundle> | undefined;
    try {
      for (let next = 0; next < list.length; ) {
        const start = next;
        const end = Math.min(list.length, start + per);
        const bundleId = (this.#bundleId = (this.#bundleId + 1) >>> 0);
        const range: XidRange = { base: this.#allocXids(end - start), count: end - start, offset: start, bundleId, list, errors: [], dropped: 0 };
        this.#ranges.push(range);
        mine.push(range);
        const open = this.#bundleControl(bundleId, 'OPEN_REQUEST', range.errors, timeoutMs);
        let openFailed = false;
        open.then((ok) => void (openFailed = !ok), quiet);
        let sent: number;
        try {
          sent = await this.#streamFlowMods(range, end, epoch, () => openFailed || range.errors.length > 0);
        } catch (err) {
          // The connection is gone (nothing to discard) or a bug: do not leave the bundle open either way.
          if (epoch === this.#epoch) void this.#bundleControl(bundleId, 'DISCARD_REQUEST', [], timeoutMs).catch(quiet);
          throw err;
        }
        if (previous) {
          const prev = await previous;
          previous = undefined;
          results.push(prev);
          if (!prev.committed) {
            if (await open) await this.#bundleControl(bundleId, 'DISCARD_REQUEST', [], timeoutMs);
            break;
          }
        }
        // An error seen in time saves the switch the commit (and keeps the bundle all-or-nothing; one that
        // arrives after the COMMIT was written still makes the result uncommitted).
        const aborted = sent < end || range.errors.length > 0;
        let commit: Promise<boolean>;
        if (!aborted) commit = this.#bundleControl(bundleId, 'COMMIT_REQUEST', range.errors, timeoutMs);
        else if (await open) commit = this.#bundleControl(bundleId, 'DISCARD_REQUEST', [], timeoutMs).then(() => false);
        else commit = Promise.resolve(false);
        previous = Promise.all([open, commit]).then(([o, c]) => {
          if (range.dropped > 0) this.#log.warn({ bundleId, dropped: range.dropped }, `${range.dropped} more errors for bundle ${bundleId} were only counted`);
          return { bundleId, messages: end - start, errors: range.errors, committed: o && c && range.errors.length === 0, start, end };
        });
        // Awaited only after the next bundle is streamed: a lost connection must not count as unhandled.
        previous.catch(quiet);
        if (aborted) break;
        next = end;
      }
      // Written right after the last commit: its answer confirms everything sent before.
      const barrier = this.barrier(timeoutMs);
      barrier.catch(quiet);
      if (previous) results.push(await previous);
      await barrier;
      return results;
    } finally {
      for (const r of mine) {
        const i = this.#ranges.indexOf(r);
        if (i >= 0) this.#ranges.splice(i, 1);
      }
    }
  }

  /** A bundle control request; an OFPT_ERROR for it goes into `errors` and resolves false. */
  async #bundleControl(bundleId: number, ctrlType: 'OPEN_REQUEST' | 'COMMIT_REQUEST' | 'DISCARD_REQUEST', errors: OfpErrorRecord[], timeoutMs: number): Promise<boolean> {
    try {
      await this.request({ type: 'BUNDLE_CONTROL', bundleId, ctrlType, flags: ['ATOMIC', 'ORDERED'], properties: new Uint8Array(0) }, timeoutMs);
      return true;
    } catch (err) {
      if (err instanceof OpenFlowRequestError) {
        errors.push(err.record);
        return false;
      }
      throw err;
    }
  }

  /**
   * Encodes the range's flow mods up to list index `end` in batches of writeBatch, one socket write per
   * batch, waiting for 'drain' when the socket's buffer is full. Stops early when `abort()` says so (the
   * switch already rejected something of this bundle) or a flow mod cannot be encoded (recorded as an
   * error of the range). Returns the list index reached.
   */
  async #streamFlowMods(range: XidRange, end: number, epoch: number, abort: () => boolean): Promise<number> {
    const { list, bundleId } = range;
    let i = range.offset;
    let unread = 0;
    while (i < end) {
      if (this.#needDrain) {
        await this.#drained();
        unread = 0;
      } else if (unread >= STREAM_READ_EVERY) {
        // A socket that never fills up would keep the switch's answers unread until the end: look at
        // them now and then, so an error stops the stream early.
        await new Promise((r) => setImmediate(r));
        unread = 0;
      }
      unread++;
      if (epoch !== this.#epoch) throw new SwitchError('SWITCH_DISCONNECTED', 'connection lost while sending a bundle');
      if (abort()) return i;
      const stream = this.#requireStream('a bundle');
      // A new buffer per write: the socket may keep a batch queued while the next one is encoded.
      const w = new Writer(Math.min(end - i, this.#o.writeBatch) * STREAM_BYTES_PER_MOD);
      const stop = Math.min(end, i + this.#o.writeBatch);
      let failed = false;
      for (; i < stop; i++) {
        const at = w.pos;
        const xid = range.base + (i - range.offset);
        try {
          encodeFlowModInto(w, xid, list.command(i), list.flow(i), bundleId);
        } catch (err) {
          w.pos = at;
          const rec = encodeErrorRecord(range, xid, err, this.#timers.now());
          range.errors.push(rec);
          this.#log.error({ xid, index: rec.index }, rec.text);
          failed = true;
          break;
        }
      }
      if (w.pos > 0 && !stream.write(w.buf.subarray(0, w.pos))) this.#needDrain = true;
      if (failed) return i;
    }
    return i;
  }

  // ------------------------------------------------------------------------------------------
  // Writing: the only code that touches the socket.

  #writeNow(msg: OFMessage): void {
    const stream = this.#requireStream(msg.type);
    if (!stream.write(encodeMessage(msg))) this.#needDrain = true;
  }

  /** Writes many messages in batches, waiting for 'drain' whenever the socket's buffer is full. */
  async #writeMany(msgs: readonly OFMessage[]): Promise<void> {
    const epoch = this.#epoch;
    for (let i = 0; i < msgs.length; i += this.#o.writeBatch) {
      if (this.#needDrain) await this.#drained();
      if (epoch !== this.#epoch) throw new SwitchError('SWITCH_DISCONNECTED', 'connection lost while sending a bundle');
      const stream = this.#requireStream('a bundle');
      if (!stream.write(encodeMessages(msgs.slice(i, i + this.#o.writeBatch)))) this.#needDrain = true;
    }
  }

  #drained(): Promise<void> {
    if (!this.#needDrain) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #onDrain(): void {
    this.#needDrain = false;
    for (const w of this.#drainWaiters.splice(0)) w();
  }

  #withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.#timers.setTimeout(() => reject(new SwitchError('SWITCH_TIMEOUT', `${what} within ${ms} ms`)), ms);
      p.then(
        (v) => {
          this.#timers.clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          this.#timers.clearTimeout(t);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }
}

function flowForLog(f: NonNullable<OfpErrorRecord['flow']>): object {
  return {
    command: f.command,
    table: f.tableId,
    priority: f.priority,
    cookie: `0x${f.cookie.toString(16)}`,
    match: f.match.map((o) => (o.field === 'raw' ? `raw(${o.oxmClass}:${o.oxmField})` : `${o.field}=${valueText(o.value)}${o.mask !== undefined ? `/${valueText(o.mask)}` : ''}`)).join(','),
    instructions: JSON.stringify(f.instructions, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)),
  };
}

function valueText(v: unknown): string {
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  return JSON.stringify(v);
}

/**
 * An error about a bundle rather than a message in it (the ONF bundle extension's errors, experimenter
 * 0x4f4e4600 in OpenFlow 1.3: bad bundle id, bundle closed, timed out...). It fails the bundle but must
 * not be taken as the switch refusing the flow mod it was sent for.
 */
export function isBundleError(r: OfpErrorRecord): boolean {
  return r.errType === 'EXPERIMENTER' && r.code.includes('experimenter 0x4f4e4600');
}

/** The BUNDLE_ADD_MESSAGE a streamed flow mod was sent as, rebuilt from its list entry (for describeError). */
function rangeMessage(r: XidRange, xid: number): OFMessage {
  const i = r.offset + (xid - r.base);
  const command = r.list.command(i);
  const f = r.list.flow(i);
  const inner: MessageOf<'FLOW_MOD'> = {
    type: 'FLOW_MOD', xid, command, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, idleTimeout: 0, hardTimeout: 0,
    priority: f.priority, bufferId: 'NO_BUFFER', outPort: 'ANY', outGroup: 'ANY', flags: [], match: f.match,
    instructions: command === 'DELETE_STRICT' ? [] : [...f.instructions],
  };
  return { type: 'BUNDLE_ADD_MESSAGE', xid, bundleId: r.bundleId, flags: ['ATOMIC', 'ORDERED'], message: inner, properties: new Uint8Array(0) };
}

/** A flow mod of a streamed bundle that the codec refused: reported like a switch error for that flow. */
function encodeErrorRecord(r: XidRange, xid: number, err: unknown, at: number): OfpErrorRecord {
  const cause = rangeMessage(r, xid);
  const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'OF_BAD_VALUE';
  const why = err instanceof Error ? err.message : String(err);
  const rec = describeError({ type: 'ERROR', xid, errType: 'BAD_REQUEST', code: 'BAD_LEN', data: new Uint8Array(0) }, cause, at);
  const where = rec.flow ? ` for ${rec.flow.command} table=${String(rec.flow.tableId)} priority=${rec.flow.priority}` : '';
  return { ...rec, errType: 'ENCODE', code, index: r.offset + (xid - r.base), text: `cannot encode a flow mod${where}: ${why}` };
}

/** Builds the status/log record of an OFPT_ERROR from the error and the message that caused it. */
export function describeError(msg: MessageOf<'ERROR'>, cause: OFMessage | undefined, at: number): OfpErrorRecord {
  const errType = String(msg.errType);
  const code = msg.experimenter !== undefined ? `${msg.code} (experimenter 0x${msg.experimenter.toString(16)})` : String(msg.code);
  let causeType: string | undefined;
  let flowMsg: MessageOf<'FLOW_MOD'> | undefined;
  if (cause) {
    causeType = cause.type;
    if (cause.type === 'FLOW_MOD') flowMsg = cause;
    if (cause.type === 'BUNDLE_ADD_MESSAGE') {
      causeType = `BUNDLE_ADD_MESSAGE/${cause.message.type}`;
      if (cause.message.type === 'FLOW_MOD') flowMsg = cause.message;
    }
    if (cause.type === 'BUNDLE_CONTROL') causeType = `BUNDLE_CONTROL/${cause.ctrlType}`;
  }
  const flow = flowMsg && {
    command: flowMsg.command,
    tableId: flowMsg.tableId,
    priority: flowMsg.priority,
    match: flowMsg.match,
    instructions: flowMsg.instructions,
    cookie: flowMsg.cookie,
  };
  const where = flow
    ? ` for ${flow.command} table=${String(flow.tableId)} priority=${flow.priority} ${flow.match.map((o) => (o.field === 'raw' ? 'raw' : `${o.field}=${valueText(o.value)}`)).join(',')}`
    : causeType
      ? ` for ${causeType} (xid ${msg.xid})`
      : ` (xid ${msg.xid}, cause unknown)`;
  const rec: OfpErrorRecord = { at, xid: msg.xid, errType, code, text: `switch rejected a message: ${errType}/${code}${where}` };
  if (causeType) rec.causeType = causeType;
  if (flow) rec.flow = flow;
  return rec;
}
