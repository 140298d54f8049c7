// An in-memory OpenFlow 1.3 peer for session unit tests: the far end of a ByteStream that decodes
// what the session writes with the real codec, answers the handshake like Open vSwitch does, and lets
// a test script everything else (errors, port status, split multipart replies, back-pressure).
import { EventEmitter } from 'node:events';
import { decode, encode, OFFramer } from 'node-openflow';
import type { OFMessage, PortDesc } from 'node-openflow';
import type { ByteStream } from '../../src/switch/transport.js';

export function port(portNo: number | 'LOCAL', name: string): PortDesc {
  return {
    portNo, hwAddr: '02:00:00:00:00:01', name, config: [], state: [], curr: [], advertised: [], supported: [], peer: [],
    currSpeed: 0, maxSpeed: 0,
  };
}

/** The session's end of the pipe. */
class PeerStream extends EventEmitter implements ByteStream {
  destroyed = false;
  constructor(private readonly peer: FakeOfPeer) {
    super();
  }
  write(chunk: Uint8Array): boolean {
    if (this.destroyed) return false;
    this.peer.receive(Buffer.from(chunk));
    return !this.peer.backpressure;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.peer.closed++;
  }
}

export class FakeOfPeer {
  readonly received: OFMessage[] = [];
  stream: PeerStream | undefined;
  closed = 0;
  versions: number[] = [4];
  datapathId = 0x0000_0242_ac11_0002n;
  ports: PortDesc[] = [port(1, 'tun0'), port(2, 'vm1'), port('LOCAL', 'br-int')];
  /** Answer FEATURES/PORT_DESC/BARRIER/BUNDLE_CONTROL/ECHO automatically. */
  autoReply = true;
  /** Make the session's writes report a full socket buffer until drain(). */
  backpressure = false;
  /** Called for every message before auto-replies; return true to suppress the auto-reply. */
  hook: ((m: OFMessage) => boolean | void) | undefined;
  /** Times of connection attempts, by `now`. */
  readonly connectsAt: number[] = [];
  now: () => number = () => 0;
  #framer = new OFFramer();

  /** A Connector for OpenFlowSession that always connects to this peer. */
  connector = (): Promise<ByteStream> => {
    this.connectsAt.push(this.now());
    this.#framer = new OFFramer();
    this.stream = new PeerStream(this);
    return Promise.resolve(this.stream);
  };

  receive(buf: Buffer): void {
    for (const frame of this.#framer.push(buf)) {
      const m = decode(frame);
      this.received.push(m);
      if (this.hook?.(m) === true) continue;
      if (this.autoReply) this.#auto(m);
    }
  }

  send(m: OFMessage): void {
    const s = this.stream;
    const buf = encode(m);
    // Asynchronous like a socket: the session sees the answer after its write returned.
    setImmediate(() => {
      if (s && !s.destroyed) s.emit('data', buf);
    });
  }

  /** Sends raw bytes (for split-message and garbage tests). */
  sendRaw(buf: Buffer): void {
    const s = this.stream;
    setImmediate(() => {
      if (s && !s.destroyed) s.emit('data', buf);
    });
  }

  drain(): void {
    this.backpressure = false;
    this.stream?.emit('drain');
  }

  /** The switch closes the connection. */
  hangUp(): void {
    const s = this.stream;
    if (!s) return;
    s.destroyed = true;
    s.emit('close');
  }

  of<T extends OFMessage['type']>(type: T): Extract<OFMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<OFMessage, { type: T }> => m.type === type);
  }

  #auto(m: OFMessage): void {
    switch (m.type) {
      case 'HELLO':
        this.send({ type: 'HELLO', xid: 1, version: Math.max(...this.versions), elements: [{ type: 'VERSIONBITMAP', versions: this.versions }] });
        return;
      case 'FEATURES_REQUEST':
        this.send({ type: 'FEATURES_REPLY', xid: m.xid, datapathId: this.datapathId, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: ['FLOW_STATS'], reserved: 0 });
        return;
      case 'MULTIPART_REQUEST':
        if (m.mpType === 'PORT_DESC') this.send({ type: 'MULTIPART_REPLY', xid: m.xid, mpType: 'PORT_DESC', flags: [], body: this.ports });
        return;
      case 'BARRIER_REQUEST':
        this.send({ type: 'BARRIER_REPLY', xid: m.xid });
        return;
      case 'ECHO_REQUEST':
        this.send({ type: 'ECHO_REPLY', xid: m.xid, data: m.data });
        return;
      case 'BUNDLE_CONTROL': {
        const reply = m.ctrlType === 'OPEN_REQUEST' ? 'OPEN_REPLY' : m.ctrlType === 'COMMIT_REQUEST' ? 'COMMIT_REPLY' : m.ctrlType === 'DISCARD_REQUEST' ? 'DISCARD_REPLY' : 'CLOSE_REPLY';
        this.send({ type: 'BUNDLE_CONTROL', xid: m.xid, bundleId: m.bundleId, ctrlType: reply, flags: m.flags, properties: new Uint8Array(0) });
        return;
      }
      default:
        return;
    }
  }
}
