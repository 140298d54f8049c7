// Reading OpenFlow sessions out of a packet capture, without a pcap library: classic pcap files
// (tcpdump -w, either byte order, micro- or nanosecond stamps), the link types tcpdump writes on
// Linux (Ethernet with VLAN tags, Linux cooked v1/v2, raw IP, BSD loopback), IPv4 and IPv6, and TCP
// reassembled per direction by sequence number, so retransmits and reordering do not corrupt the stream.

/** A capture that cannot be read; `offset` is the byte position in the capture file. */
export class PcapError extends Error {
  readonly code: string;
  readonly offset: number;
  readonly detail: string;
  constructor(code: string, offset: number, detail: string) {
    super(`${code} at byte ${offset}: ${detail}`);
    this.name = 'PcapError';
    this.code = code;
    this.offset = offset;
    this.detail = detail;
  }
}

export interface PcapRecord {
  /** Seconds since the epoch, fractional. */
  time: number;
  linkType: number;
  /** Position of the record's data in the file (for error messages). */
  offset: number;
  data: Buffer;
  /** True when the capture's snap length cut the frame short. */
  truncated: boolean;
}

export interface TcpSegment {
  time: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  syn: boolean;
  payload: Buffer;
  /** The TCP payload was cut by the snap length: its bytes are incomplete. */
  truncated: boolean;
  offset: number;
}

const LINK_NULL = 0;
const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_LINUX_SLL = 113;
const LINK_LINUX_SLL2 = 276;
// DLT_RAW has two historical numbers besides LINKTYPE_RAW.
const LINK_RAW_ALT = new Set([12, 14]);

/** The records of a classic pcap file, in file order. */
export function* readPcap(file: Buffer): Generator<PcapRecord> {
  if (file.length < 24) throw new PcapError('PCAP_TRUNCATED', 0, `a pcap file starts with a 24-byte header, got ${file.length} bytes`);
  const magic = file.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    le = true;
    nano = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    le = false;
    nano = magic === 0x4d3cb2a1;
  } else if (magic === 0x0a0d0d0a) {
    throw new PcapError('PCAP_FORMAT', 0, 'this is a pcapng file; write classic pcap (tcpdump -w, or: editcap -F pcap in.pcapng out.pcap)');
  } else {
    throw new PcapError('PCAP_FORMAT', 0, `not a pcap file (magic 0x${magic.toString(16)})`);
  }
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  let o = 24;
  while (o < file.length) {
    if (file.length - o < 16) throw new PcapError('PCAP_TRUNCATED', o, `record header needs 16 bytes, ${file.length - o} left (capture cut short?)`);
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const orig = u32(o + 12);
    if (incl > file.length - o - 16) throw new PcapError('PCAP_TRUNCATED', o + 8, `record of ${incl} bytes but ${file.length - o - 16} left (capture cut short?)`);
    yield {
      time: sec + frac / (nano ? 1e9 : 1e6), linkType, offset: o + 16,
      data: file.subarray(o + 16, o + 16 + incl), truncated: incl < orig,
    };
    o += 16 + incl;
  }
}

function ipv4Text(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ipv6Text(b: Buffer, o: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(b.readUInt16BE(o + 2 * i));
  // RFC 5952: compress the longest run (>= 2) of zero words, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The network-layer packet inside a frame, with its ethertype; null when it is not IP. */
function networkLayer(rec: PcapRecord): { etherType: number; start: number } | null {
  const d = rec.data;
  switch (rec.linkType) {
    case LINK_ETHERNET: {
      if (d.length < 14) return null;
      let o = 12;
      let et = d.readUInt16BE(o);
      // 802.1Q / 802.1ad / QinQ tags, possibly stacked.
      while ((et === 0x8100 || et === 0x88a8 || et === 0x9100) && d.length >= o + 6) {
        o += 4;
        et = d.readUInt16BE(o);
      }
      return { etherType: et, start: o + 2 };
    }
    case LINK_LINUX_SLL:
      return d.length < 16 ? null : { etherType: d.readUInt16BE(14), start: 16 };
    case LINK_LINUX_SLL2:
      return d.length < 20 ? null : { etherType: d.readUInt16BE(0), start: 20 };
    case LINK_NULL: {
      if (d.length < 4) return null;
      // The address family is in the capturing host's byte order.
      const fam = d.readUInt32LE(0) > 0xffff ? d.readUInt32BE(0) : d.readUInt32LE(0);
      if (fam === 2) return { etherType: 0x0800, start: 4 };
      if (fam === 24 || fam === 28 || fam === 30 || fam === 10) return { etherType: 0x86dd, start: 4 };
      return null;
    }
    default:
      if (rec.linkType === LINK_RAW || LINK_RAW_ALT.has(rec.linkType)) {
        if (d.length < 1) return null;
        const v = d[0]! >> 4;
        return v === 4 ? { etherType: 0x0800, start: 0 } : v === 6 ? { etherType: 0x86dd, start: 0 } : null;
      }
      throw new PcapError('PCAP_LINKTYPE', 20, `link type ${rec.linkType} is not supported (Ethernet, Linux cooked, raw IP and loopback are)`);
  }
}

/** The TCP segment in a captured frame, or null for anything else (ARP, UDP, IP fragments...). */
export function tcpSegment(rec: PcapRecord): TcpSegment | null {
  const net = networkLayer(rec);
  if (!net) return null;
  const d = rec.data;
  let o = net.start;
  let src: string;
  let dst: string;
  let ipEnd: number;
  let proto: number;
  if (net.etherType === 0x0800) {
    if (d.length < o + 20 || d[o]! >> 4 !== 4) return null;
    const ihl = (d[o]! & 0x0f) * 4;
    const total = d.readUInt16BE(o + 2);
    const frag = d.readUInt16BE(o + 6);
    // Only first, unfragmented packets carry a whole TCP header; OpenFlow over TCP is not fragmented in practice.
    if ((frag & 0x3fff) !== 0) return null;
    proto = d[o + 9]!;
    src = ipv4Text(d, o + 12);
    dst = ipv4Text(d, o + 16);
    // The IP total length, not the frame, bounds the payload: Ethernet pads short frames.
    ipEnd = o + total;
    o += ihl;
    if (ihl < 20) return null;
  } else if (net.etherType === 0x86dd) {
    if (d.length < o + 40 || d[o]! >> 4 !== 6) return null;
    const payloadLen = d.readUInt16BE(o + 4);
    proto = d[o + 6]!;
    src = ipv6Text(d, o + 8);
    dst = ipv6Text(d, o + 24);
    ipEnd = o + 40 + payloadLen;
    o += 40;
    // Skip extension headers: hop-by-hop, routing, destination options; a fragment header means a fragment.
    while (proto === 0 || proto === 43 || proto === 60) {
      if (d.length < o + 2) return null;
      proto = d[o]!;
      o += (d[o + 1]! + 1) * 8;
    }
    if (proto === 44) return null;
  } else {
    return null;
  }
  if (proto !== 6) return null;
  if (d.length < o + 20) return null;
  const dataOfs = (d[o + 12]! >> 4) * 4;
  if (dataOfs < 20) return null;
  const flags = d[o + 13]!;
  const payloadStart = o + dataOfs;
  const end = Math.min(ipEnd, d.length);
  const truncated = ipEnd > d.length;
  return {
    time: rec.time, src, dst, srcPort: d.readUInt16BE(o), dstPort: d.readUInt16BE(o + 2), seq: d.readUInt32BE(o + 4),
    syn: (flags & 0x02) !== 0, payload: payloadStart < end ? d.subarray(payloadStart, end) : Buffer.alloc(0),
    truncated, offset: rec.offset,
  };
}

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** One direction of one TCP connection: the in-order bytes, given out as they become contiguous. */
export class TcpStream {
  readonly src: string;
  readonly dst: string;
  /** Bytes given out so far. */
  delivered = 0;
  private next: number | undefined;
  private readonly pending = new Map<number, Buffer>();
  private pendingBytes = 0;
  /** Set when a segment's payload was cut by the snap length: the stream cannot be rebuilt past it. */
  broken: string | null = null;

  constructor(src: string, dst: string) {
    this.src = src;
    this.dst = dst;
  }

  /** Adds a segment; returns the bytes that are now in order (possibly several segments' worth). */
  push(seg: TcpSegment, maxPending: number): Buffer[] {
    if (seg.syn) {
      this.next = (seg.seq + 1) >>> 0;
      return [];
    }
    if (seg.payload.length === 0 || this.broken) return [];
    if (seg.truncated) {
      this.broken = `a segment at byte ${seg.offset} of the capture was cut by the snap length; capture with tcpdump -s 0`;
      return [];
    }
    // A capture that starts mid-connection: take the first data segment as the start.
    this.next ??= seg.seq;
    const out: Buffer[] = [];
    if (!this.take(seg.seq, seg.payload, out)) {
      const had = this.pending.get(seg.seq);
      if (!had || had.length < seg.payload.length) {
        this.pendingBytes += seg.payload.length - (had?.length ?? 0);
        this.pending.set(seg.seq, seg.payload);
        if (this.pendingBytes > maxPending) {
          throw new PcapError('PCAP_TCP_GAP', seg.offset, `${this.src} -> ${this.dst}: more than ${maxPending} bytes wait behind a missing segment`);
        }
      }
      return out;
    }
    // A gap may just have closed: drain whatever now lines up.
    let progress = true;
    while (progress && this.pending.size > 0) {
      progress = false;
      for (const [seq, data] of this.pending) {
        const rel = (seq - this.next) | 0;
        if (rel > 0) continue;
        this.pending.delete(seq);
        this.pendingBytes -= data.length;
        this.take(seq, data, out);
        progress = true;
      }
    }
    return out;
  }

  /** Delivers the part of [seq, seq+len) at or after `next`; false when it starts beyond `next` (a gap). */
  private take(seq: number, data: Buffer, out: Buffer[]): boolean {
    const rel = (seq - this.next!) | 0; // signed distance, modulo 2^32
    if (rel > 0) return false;
    const skip = -rel;
    if (skip < data.length) {
      const fresh = data.subarray(skip);
      out.push(fresh);
      this.delivered += fresh.length;
      this.next = (this.next! + fresh.length) >>> 0;
    }
    return true;
  }

  /** Bytes that arrived beyond a gap that never closed. */
  get stranded(): number {
    return this.pendingBytes;
  }
}

export interface StreamData {
  stream: TcpStream;
  time: number;
  data: Buffer[];
}

/**
 * Splits a capture into TCP byte streams, one per direction of each connection with an end on one
 * of `ports` (all TCP when ports is null), and calls `onData` as bytes become contiguous.
 */
export function reassemble(
  file: Buffer,
  ports: Set<number> | null,
  onData: (d: StreamData) => void,
  opts: { maxPending?: number } = {},
): TcpStream[] {
  const streams = new Map<string, TcpStream>();
  const maxPending = opts.maxPending ?? 16 << 20;
  for (const rec of readPcap(file)) {
    const seg = tcpSegment(rec);
    if (!seg) continue;
    if (ports && !ports.has(seg.srcPort) && !ports.has(seg.dstPort)) continue;
    const src = endpoint(seg.src, seg.srcPort);
    const dst = endpoint(seg.dst, seg.dstPort);
    const key = `${src}>${dst}`;
    let s = streams.get(key);
    if (!s) {
      s = new TcpStream(src, dst);
      streams.set(key, s);
    }
    const data = s.push(seg, maxPending);
    if (data.length > 0) onData({ stream: s, time: seg.time, data });
  }
  return [...streams.values()];
}
