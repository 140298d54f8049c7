// An in-memory network for mesh sessions: every connection is a pair of FIFO frame queues (a TCP
// connection is ordered), and the test decides which queue delivers next, so frames of different
// connections interleave in any order. Faults: a connection can be cut (both ends see it close,
// frames in flight are lost), a link partitioned, and an old, already delivered update replayed
// (a duplicate arriving late over another path).
import assert from 'node:assert/strict';
import { PeerSession } from '../../src/mesh/session.js';
import type { Transport } from '../../src/mesh/session.js';
import type { Timers } from '../../src/registry/registry.js';
import type { TestNode } from './registry-fixtures.js';

export class FakeTimers implements Timers {
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  /** Runs every timer due within `ms`, in time order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let best: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= end && (!best || e[1].at < best[1].at)) best = e;
      if (!best) break;
      this.pending.delete(best[0]);
      this.now = best[1].at;
      best[1].fn();
    }
    this.now = end;
  }
}

interface Pipe {
  frames: string[];
  to: PeerSession;
}

export interface Conn {
  id: number;
  a: string;
  b: string;
  ab: Pipe;
  ba: Pipe;
  sa: PeerSession;
  sb: PeerSession;
  open: boolean;
  /**
   * A side that closed: what it sent before still arrives (a WebSocket close follows the data), then
   * the other side sees the close. Until then the other side's frames still reach the closed side
   * (ws delivers messages while CLOSING), which must drop them.
   */
  closedBy?: string;
}

export interface SimOptions {
  reflectors?: string[];
  /** Which pairs connect; default every pair (full mesh). */
  pairs?: Array<[string, string]>;
  timers?: FakeTimers;
  maxPayload?: number;
}

const quietLog = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

export class SimNet {
  readonly timers: FakeTimers;
  private readonly nodes = new Map<string, TestNode>();
  /** Every connection ever made, by id; several may join one pair at once (both sides dialed). */
  private readonly conns = new Map<number, Conn>();
  /** Per node: the session kept for each peer, chosen as src/mesh/mesh.ts does on a collision. */
  private readonly active = new Map<string, Map<string, PeerSession>>();
  private readonly delivered: Array<{ to: string; frame: string; conn: number }> = [];
  private readonly partitioned = new Set<string>();
  private nextId = 1;
  readonly pairs: Array<[string, string]>;
  /** Per node: which hosts it currently reaches (direct or via a reflector), as the Mesh computes it. */
  private readonly reach = new Map<string, { synced: Set<string>; via: Map<string, Set<string>>; reachable: Set<string>; lastPeers?: string }>();

  constructor(
    nodes: TestNode[],
    private readonly opts: SimOptions = {},
  ) {
    this.timers = opts.timers ?? new FakeTimers();
    for (const n of nodes) {
      this.nodes.set(n.hostId, n);
      this.reach.set(n.hostId, { synced: new Set(), via: new Map(), reachable: new Set() });
      this.active.set(n.hostId, new Map());
    }
    const ids = nodes.map((n) => n.hostId);
    this.pairs = opts.pairs ?? ids.flatMap((a, i) => ids.slice(i + 1).map((b): [string, string] => [a, b]));
  }

  private key(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  isReflector(h: string): boolean {
    return this.opts.reflectors?.includes(h) ?? false;
  }

  private openConn(a: string, b: string): Conn | undefined {
    const k = this.key(a, b);
    for (const c of this.conns.values()) if (c.open && this.key(c.a, c.b) === k) return c;
    return undefined;
  }

  /** Opens a connection a -> b (if none is open and the link is not partitioned). */
  connect(a: string, b: string): void {
    if (this.openConn(a, b) || this.partitioned.has(this.key(a, b))) return;
    this.dial(a, b);
  }

  /**
   * Opens another connection a -> b even while one is open (both sides dialing, or a redial after a
   * hold-timer expiry the other side has not noticed yet): the sessions' OPENs then collide.
   */
  dial(a: string, b: string): void {
    if (this.partitioned.has(this.key(a, b))) return;
    const id = this.nextId++;
    const conn = { id, a, b, open: true } as Conn;
    const mk = (self: string, peer: string, out: () => Pipe, direction: 'inbound' | 'outbound'): PeerSession => {
      const transport: Transport = {
        send: (text, done) => {
          if (conn.open && conn.closedBy !== self) out().frames.push(text);
          done();
        },
        bufferedAmount: () => 0,
        close: () => this.closeFrom(conn, self),
      };
      const node = this.nodes.get(self)!;
      return new PeerSession({
        registry: node.registry,
        hostId: self,
        reflector: this.isReflector(self),
        transport,
        direction,
        ...(direction === 'outbound' ? { expectedHostId: peer } : {}),
        certNames: [peer],
        authorize: () => undefined,
        keepaliveMs: 3000,
        holdMs: 9000,
        maxPayload: this.opts.maxPayload ?? 1 << 20,
        timers: this.timers,
        log: quietLog,
        hooks: {
          onOpen: (s) => this.onOpen(self, s),
          onSynced: (s) => {
            if (this.active.get(self)!.get(s.peerHostId!) === s) this.onSynced(self, s.peerHostId!);
          },
          onPeers: (s, up) => {
            if (this.active.get(self)!.get(s.peerHostId!) === s) this.onPeers(self, s.peerHostId!, up);
          },
          onClose: (s) => {
            const h = s.peerHostId;
            if (h === undefined || this.active.get(self)!.get(h) !== s) return;
            this.active.get(self)!.delete(h);
            this.onClosed(self, h);
          },
        },
      });
    };
    conn.sa = mk(a, b, () => conn.ab, 'outbound');
    conn.sb = mk(b, a, () => conn.ba, 'inbound');
    conn.ab = { frames: [], to: conn.sb };
    conn.ba = { frames: [], to: conn.sa };
    this.conns.set(id, conn);
    conn.sa.start();
    conn.sb.start();
  }

  connectAll(): void {
    for (const [a, b] of this.pairs) this.connect(a, b);
  }

  /**
   * One side closes (NOTIFICATION, collision, hold expiry): frames it sent before still reach the
   * other side, which then sees the transport close; until then, frames toward the closed side
   * (sent before or after its close) may still be delivered to it, as a closing WebSocket does.
   */
  private closeFrom(conn: Conn, self: string): void {
    if (!conn.open || conn.closedBy !== undefined) return;
    conn.closedBy = self;
    const fromSelf = conn.a === self ? conn.ab : conn.ba;
    if (!fromSelf.frames.length) this.cut(conn);
  }

  /** After a frame of a closing connection was delivered: the close itself arrives once its data did. */
  private afterDelivery(conn: Conn): void {
    if (conn.closedBy === undefined || !conn.open) return;
    const fromCloser = conn.a === conn.closedBy ? conn.ab : conn.ba;
    if (!fromCloser.frames.length) this.cut(conn);
  }

  /** The connection breaks: frames in flight are lost, both ends see the transport close. */
  cut(conn: Conn): void {
    if (!conn.open) return;
    conn.open = false;
    conn.ab.frames.length = 0;
    conn.ba.frames.length = 0;
    conn.sa.transportClosed('cut');
    conn.sb.transportClosed('cut');
  }

  cutRandom(r: () => number): void {
    const open = [...this.conns.values()].filter((c) => c.open);
    if (open.length) this.cut(open[Math.floor(r() * open.length)]!);
  }

  partition(a: string, b: string): void {
    const k = this.key(a, b);
    this.partitioned.add(k);
    for (const c of this.conns.values()) if (this.key(c.a, c.b) === k) this.cut(c);
  }

  /** The connections between a and b that are open, oldest first. */
  connections(a: string, b: string): Conn[] {
    return [...this.conns.values()].filter((c) => c.open && this.key(c.a, c.b) === this.key(a, b));
  }

  /** Delivers the next frame from `from` to `to` on connection `conn`. Returns false when none is queued. */
  deliverOn(conn: Conn, to: string): boolean {
    if (!conn.open) return false;
    const pipe = conn.b === to ? conn.ab : conn.ba;
    const frame = pipe.frames.shift();
    if (frame === undefined) return false;
    pipe.to.receive(frame);
    this.afterDelivery(conn);
    return true;
  }

  /** Which session `self` keeps for `peer`, chosen as src/mesh/mesh.ts does: the one dialed by the lower id. */
  private onOpen(self: string, s: PeerSession): boolean {
    const h = s.peerHostId!;
    const act = this.active.get(self)!;
    const existing = act.get(h);
    if (existing && existing !== s && existing.state !== 'closed') {
      if ((s.direction === 'outbound') !== self < h) return false;
      act.set(h, s);
      existing.close('connection-collision', `another session with "${h}" is kept`);
      return true;
    }
    act.set(h, s);
    return true;
  }

  heal(): void {
    this.partitioned.clear();
  }

  /** Delivers the next frame of a random connection direction. Returns false when nothing is queued. */
  deliverRandom(r: () => number): boolean {
    const pipes: Array<{ pipe: Pipe; conn: Conn; to: string }> = [];
    for (const c of this.conns.values()) {
      if (!c.open) continue;
      if (c.ab.frames.length) pipes.push({ pipe: c.ab, conn: c, to: c.b });
      if (c.ba.frames.length) pipes.push({ pipe: c.ba, conn: c, to: c.a });
    }
    if (!pipes.length) return false;
    const p = pipes[Math.floor(r() * pipes.length)]!;
    const frame = p.pipe.frames.shift()!;
    if (frame.startsWith('{"type":"update"')) this.delivered.push({ to: p.to, frame, conn: p.conn.id });
    p.pipe.to.receive(frame);
    this.afterDelivery(p.conn);
    return true;
  }

  /**
   * Replays the records of an update delivered earlier, straight into the receiver's registry, as
   * a late duplicate from another path. Without its vector: a vector vouches only for the session
   * it came on, and the frame may never have been applied (its session was cut first).
   */
  async replayOld(r: () => number): Promise<void> {
    if (!this.delivered.length) return;
    const d = this.delivered[Math.floor(r() * this.delivered.length)]!;
    const msg = JSON.parse(d.frame) as { records: never[] };
    await this.nodes.get(d.to)!.registry.applyRemote(msg.records, 'replay');
  }

  queued(): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.open) n += c.ab.frames.length + c.ba.frames.length;
    return n;
  }

  /** Lets asynchronous applies and commits finish and their batches reach the queues. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await new Promise((res) => setImmediate(res));
      for (const n of this.nodes.values()) await n.registry.settled();
    }
  }

  /** Delivers everything (in random order) until no frame is left anywhere. */
  async drain(r: () => number, maxSteps = 200_000): Promise<void> {
    for (let i = 0; i < maxSteps; i++) {
      if (!this.deliverRandom(r)) {
        await this.settle();
        if (this.queued() === 0) return;
      } else if (i % 8 === 0) await this.settle();
    }
    throw new Error('simulation did not quiesce');
  }

  // Reachability as src/mesh/mesh.ts computes it.
  private onSynced(self: string, peer: string): void {
    this.reach.get(self)!.synced.add(peer);
    this.recompute(self);
  }
  private onPeers(self: string, peer: string, up: string[]): void {
    this.reach.get(self)!.via.set(peer, new Set(up));
    this.recompute(self);
  }
  private onClosed(self: string, peer: string | undefined): void {
    if (peer === undefined) return;
    const st = this.reach.get(self)!;
    st.synced.delete(peer);
    st.via.delete(peer);
    this.recompute(self);
  }
  private recompute(self: string): void {
    const st = this.reach.get(self)!;
    const reg = this.nodes.get(self)!.registry;
    const next = new Set(st.synced);
    for (const [r, hs] of st.via) if (st.synced.has(r)) for (const h of hs) next.add(h);
    next.delete(self);
    for (const h of st.reachable) if (!next.has(h)) reg.markPeerStale(h);
    for (const h of next) if (!st.reachable.has(h)) reg.peerEndOfRib(h);
    st.reachable = next;
    const up = [...st.synced].sort().join();
    if (this.isReflector(self) && up !== st.lastPeers) {
      st.lastPeers = up;
      for (const c of this.conns.values()) {
        if (!c.open) continue;
        if (c.a === self) c.sa.sendPeers([...st.synced].sort());
        if (c.b === self) c.sb.sendPeers([...st.synced].sort());
      }
    }
  }

  /** Marks every known remote host stale, as the Mesh does on start. */
  startAll(): void {
    for (const n of this.nodes.values()) for (const h of n.registry.knownHosts()) n.registry.markPeerStale(h);
  }
}

/**
 * Every registration acknowledged to its writer (`mac@host`) is held by every node, after a random
 * schedule `seed` that registered enough (over 20) to prove anything.
 */
export function assertAckedEverywhere(nodes: TestNode[], acked: string[], seed: number): void {
  const want = [...acked].sort();
  assert.ok(want.length > 20, `seed ${seed}: the schedule registered too little to prove anything (${want.length})`);
  for (const n of nodes) {
    const have = new Set(n.registry.snapshot().endpoints.map((e) => `${e.mac}@${e.hostId}`));
    assert.deepEqual(want.filter((k) => !have.has(k)), [], `seed ${seed}: ${n.hostId} lacks acknowledged registrations`);
  }
}

/** Records of `origin` that `n`'s vector claims (counter at or below its entry) but `n` does not hold in that version or a newer one. */
export function overClaimed(n: TestNode, origin: TestNode): string[] {
  const vv = n.registry.versionVector();
  const mine = new Map(n.store.loadRecords().map((r) => [r.key, r]));
  const out: string[] = [];
  for (const r of origin.store.loadRecords()) {
    if (r.origin !== origin.hostId || r.counter > (vv[origin.hostId] ?? 0)) continue;
    const have = mine.get(r.key);
    if (!have || have.hlc.wall < r.hlc.wall || (have.hlc.wall === r.hlc.wall && have.hlc.logical < r.hlc.logical)) out.push(`${r.origin}:${r.counter} ${r.key}`);
  }
  return out;
}

/**
 * A version vector must never claim a write it does not hold: for every origin O, each record O
 * wrote (and still holds, committed) with a counter at or below n's vector entry for O is held by n,
 * in that version or a newer one. A claim beyond that is what makes a resync skip the write for good.
 */
export function assertVectorsHonest(nodes: TestNode[], what: string): void {
  for (const n of nodes) {
    for (const o of nodes) if (o !== n) assert.deepEqual(overClaimed(n, o), [], `${what}: ${n.hostId}'s vector claims writes of ${o.hostId} it does not hold`);
  }
}
