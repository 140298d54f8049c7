// The message writer: encode(msg) / encodeInto(writer, msg). Each message reserves its header,
// writes its body and back-patches the length (pg-protocol serializer style), so no caller ever
// computes a length field; nested lengths (match, actions, buckets, bundled message) work the same way.
import { parseMac } from './addr.js';
import { encodeActions, encodeInstructions } from './actions.js';
import {
  BUNDLE_CTRL_TYPES, BUNDLE_FLAGS, CAPABILITIES, ERROR_CODES, ERROR_TYPES, FLOW_MOD_COMMANDS, FLOW_MOD_FLAGS,
  FLOW_REMOVED_REASONS, GROUP_MOD_COMMANDS, GROUP_TYPES, METER_FLAGS, METER_MOD_COMMANDS, MP_TYPES, MSG_TYPES,
  ONF_ET_BUNDLE_ADD_MESSAGE, ONF_ET_BUNDLE_CONTROL, ONF_VENDOR_ID, PACKET_IN_REASONS, PORT_CONFIG, PORT_FEATURES,
  PORT_REASONS, PORT_STATE, ROLES, bufferIdValue, groupIdValue, maxLenValue, meterIdValue, portValue,
  queueIdValue, tableIdValue,
} from './consts.js';
import { OFEncodeError } from './errors.js';
import type {
  Bucket, FlowStatsRequest, MeterBand, MultipartReplyMessage, MultipartRequestMessage, OFMessage, PortDesc,
  TableFeatureProp, TableFeatures,
} from './messages.js';
import { encodeMatch } from './oxm.js';
import { Writer } from './writer.js';
import type { FlowStats } from './types.js';

// encode() writes into a slab and hands out views of it (Node's own Buffer pool does the same
// with 8 KiB): no copy and no per-message allocation besides the view. A slab is never written
// again once a new one replaces it, so views stay valid; a view keeps its slab alive.
const SLAB = 32 * 1024;
const slab = new Writer(SLAB);

/**
 * Encodes one message into a new Buffer. Throws OFEncodeError: OF_MISSING_FIELD names a field the
 * message lacks (`FLOW_MOD.cookie: missing`, `FLOW_MOD.instructions[0].actions[0].port: missing`),
 * OF_BAD_VALUE a value that does not fit or is of the wrong kind, with its path where one is known.
 */
export function encode(msg: OFMessage): Buffer {
  if (slab.buf.length - slab.pos < 2048) slab.setBuffer(Buffer.allocUnsafe(SLAB));
  const start = slab.pos;
  try {
    encodeInto(slab, msg);
  } catch (e) {
    slab.pos = start;
    throw locateFailure(msg, e);
  }
  return slab.buf.subarray(start, slab.pos);
}

/**
 * A JavaScript error out of the encoder means a field is missing or of the wrong kind (a message
 * built by hand or read from JSON). Encoding again through a proxy that records every field read
 * names it: the last field read before the failure is the one the encoder choked on. An
 * OFEncodeError gets the field's name when it is about that field's value (missing, or a value the
 * error quotes); others (a message too long...) are left as they are. Only the error path pays.
 */
function locateFailure(msg: OFMessage, cause: unknown): OFEncodeError {
  const kind = String((msg as { type?: unknown } | null)?.type);
  const why = cause instanceof OFEncodeError ? cause.message.slice(cause.code.length + 2) : cause instanceof Error ? cause.message : String(cause);
  const plain = (): OFEncodeError => (cause instanceof OFEncodeError ? cause : new OFEncodeError('OF_BAD_VALUE', `cannot encode ${kind}: ${why}`));
  if (msg === null || typeof msg !== 'object') return plain();
  let last: { path: string; value: unknown } | null = null;
  const trace = (o: object, path: string): object => new Proxy(o, {
    get(target, prop, receiver): unknown {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || (Array.isArray(target) && prop === 'length')) return v;
      if (typeof v === 'function') return v;
      const sub = Array.isArray(target) ? `${path}[${prop}]` : `${path}.${prop}`;
      last = { path: sub, value: v };
      return v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) ? trace(v, sub) : v;
    },
  });
  try {
    encodeInto(new Writer(256), trace(msg, kind) as OFMessage);
  } catch {
    // the same failure as the first time; `last` says where
  }
  const at = last as { path: string; value: unknown } | null;
  if (!at) return plain();
  if (at.value === undefined) return new OFEncodeError('OF_MISSING_FIELD', `${at.path}: missing`);
  const v = at.value;
  const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? v.toString() : null;
  if (cause instanceof OFEncodeError) {
    if (cause.code !== 'OF_BAD_VALUE' || text === null || !why.includes(text)) return cause;
    return new OFEncodeError(cause.code, `${at.path}: ${why}`);
  }
  const shown = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v) ?? typeof v;
  return new OFEncodeError('OF_BAD_VALUE', `${at.path}: invalid value ${shown}`);
}

function mac(w: Writer, s: string): void {
  w.ensure(6);
  parseMac(s, w.buf, w.pos);
  w.pos += 6;
}

/**
 * Appends one message to w (many messages can share one writer: a bundle of thousands of
 * FLOW_MODs is written without a per-message allocation). Throws OFEncodeError on bad values;
 * on error the writer may hold a partial message, so reset it or rewind w.pos to where you started.
 */
export function encodeInto(w: Writer, msg: OFMessage): void {
  const start = w.pos;
  const t = msg.type;
  const wireType = t === 'FLOW_MOD' ? 14 : t === 'BUNDLE_CONTROL' || t === 'BUNDLE_ADD_MESSAGE' ? MSG_TYPES.EXPERIMENTER : MSG_TYPES[t];
  if (wireType === undefined) throw new OFEncodeError('OF_BAD_VALUE', `unknown message type ${String(t)}`);
  // ofp_header; the length (bytes 2-3) is back-patched at the end.
  w.u32((((msg.type === 'HELLO' || msg.type === 'ERROR') && msg.version !== undefined ? msg.version : 4) << 24 | wireType << 16) >>> 0);
  w.u32(msg.xid);
  // FLOW_MOD first: it is by far the most frequent message the agent writes.
  switch (msg.type) {
    case 'FLOW_MOD':
      w.u64(msg.cookie);
      w.u64(msg.cookieMask);
      w.u8(tableIdValue(msg.tableId));
      w.u8(FLOW_MOD_COMMANDS.value(msg.command));
      w.u16(msg.idleTimeout);
      w.u16(msg.hardTimeout);
      w.u16(msg.priority);
      w.u32(bufferIdValue(msg.bufferId));
      w.u32(portValue(msg.outPort));
      w.u32(groupIdValue(msg.outGroup));
      w.u16(msg.flags.length === 0 ? 0 : FLOW_MOD_FLAGS.encode(msg.flags));
      w.u16(0);
      encodeMatch(w, msg.match);
      encodeInstructions(w, msg.instructions);
      break;
    case 'HELLO':
      for (const el of msg.elements) {
        const es = w.pos;
        if (el.type === 'VERSIONBITMAP') {
          w.u16(1);
          w.u16(0);
          // A loop, not Math.max(...): a 64 KiB bitmap lists half a million versions.
          let max = 0;
          for (const v of el.versions) if (v > max) max = v;
          const words = (max >>> 5) + 1;
          const bits = new Array<number>(words).fill(0);
          for (const v of el.versions) bits[v >>> 5] = (bits[v >>> 5]! | (1 << (v & 31))) >>> 0;
          for (const x of bits) w.u32(x);
        } else {
          w.u16(el.type);
          w.u16(0);
          w.bytes(el.data);
        }
        w.patchLength16(es + 2, es, 'hello element');
        w.pad8(es);
      }
      break;
    case 'ERROR':
      if (msg.errType === 'EXPERIMENTER' || msg.errType === 0xffff) {
        w.u16(0xffff);
        w.u16(typeof msg.code === 'number' ? msg.code : 0);
        w.u32(msg.experimenter ?? 0);
      } else {
        const tv = ERROR_TYPES.value(msg.errType);
        w.u16(tv);
        const codes = ERROR_CODES[tv];
        if (typeof msg.code === 'string' && !codes) throw new OFEncodeError('OF_BAD_VALUE', `no named codes for error type ${String(msg.errType)}`);
        w.u16(typeof msg.code === 'number' ? msg.code : codes!.value(msg.code));
      }
      w.bytes(msg.data);
      break;
    case 'ECHO_REQUEST':
    case 'ECHO_REPLY':
      w.bytes(msg.data);
      break;
    case 'EXPERIMENTER':
      w.u32(msg.experimenter);
      w.u32(msg.expType);
      w.bytes(msg.data);
      break;
    case 'BUNDLE_CONTROL':
      w.u32(ONF_VENDOR_ID);
      w.u32(ONF_ET_BUNDLE_CONTROL);
      w.u32(msg.bundleId);
      w.u16(BUNDLE_CTRL_TYPES.value(msg.ctrlType));
      w.u16(BUNDLE_FLAGS.encode(msg.flags));
      w.bytes(msg.properties);
      break;
    case 'BUNDLE_ADD_MESSAGE':
      if (msg.message.type === 'BUNDLE_ADD_MESSAGE' || msg.message.type === 'BUNDLE_CONTROL') {
        throw new OFEncodeError('OF_BAD_VALUE', 'a bundle message cannot be bundled');
      }
      w.u32(ONF_VENDOR_ID);
      w.u32(ONF_ET_BUNDLE_ADD_MESSAGE);
      w.u32(msg.bundleId);
      w.u16(0);
      w.u16(BUNDLE_FLAGS.encode(msg.flags));
      encodeInto(w, msg.message);
      w.bytes(msg.properties);
      break;
    case 'FEATURES_REQUEST':
    case 'GET_CONFIG_REQUEST':
    case 'BARRIER_REQUEST':
    case 'BARRIER_REPLY':
    case 'GET_ASYNC_REQUEST':
      break;
    case 'FEATURES_REPLY':
      w.u64(msg.datapathId);
      w.u32(msg.nBuffers);
      w.u8(msg.nTables);
      w.u8(msg.auxiliaryId);
      w.u16(0);
      w.u32(CAPABILITIES.encode(msg.capabilities));
      w.u32(msg.reserved);
      break;
    case 'GET_CONFIG_REPLY':
    case 'SET_CONFIG':
      w.u16(msg.flags);
      w.u16(maxLenValue(msg.missSendLen));
      break;
    case 'PACKET_IN':
      w.u32(bufferIdValue(msg.bufferId));
      w.u16(msg.totalLen);
      w.u8(PACKET_IN_REASONS.value(msg.reason));
      w.u8(msg.tableId);
      w.u64(msg.cookie);
      encodeMatch(w, msg.match);
      w.u16(0);
      w.bytes(msg.data);
      break;
    case 'FLOW_REMOVED':
      w.u64(msg.cookie);
      w.u16(msg.priority);
      w.u8(FLOW_REMOVED_REASONS.value(msg.reason));
      w.u8(msg.tableId);
      w.u32(msg.durationSec);
      w.u32(msg.durationNsec);
      w.u16(msg.idleTimeout);
      w.u16(msg.hardTimeout);
      w.u64(msg.packetCount);
      w.u64(msg.byteCount);
      encodeMatch(w, msg.match);
      break;
    case 'PORT_STATUS':
      w.u8(PORT_REASONS.value(msg.reason));
      w.zeros(7);
      encodePort(w, msg.port);
      break;
    case 'PACKET_OUT': {
      w.u32(bufferIdValue(msg.bufferId));
      w.u32(portValue(msg.inPort));
      const lenAt = w.pos;
      w.u16(0);
      w.zeros(6);
      const as = w.pos;
      encodeActions(w, msg.actions);
      w.patchLength16(lenAt, as, 'PACKET_OUT actions');
      w.bytes(msg.data);
      break;
    }
    case 'GROUP_MOD':
      w.u16(GROUP_MOD_COMMANDS.value(msg.command));
      w.u8(GROUP_TYPES.value(msg.groupType));
      w.u8(0);
      w.u32(groupIdValue(msg.groupId));
      encodeBuckets(w, msg.buckets);
      break;
    case 'PORT_MOD':
      w.u32(portValue(msg.portNo));
      w.u32(0);
      mac(w, msg.hwAddr);
      w.u16(0);
      w.u32(PORT_CONFIG.encode(msg.config));
      w.u32(PORT_CONFIG.encode(msg.mask));
      w.u32(PORT_FEATURES.encode(msg.advertise));
      w.u32(0);
      break;
    case 'TABLE_MOD':
      w.u8(tableIdValue(msg.tableId));
      w.zeros(3);
      w.u32(msg.config);
      break;
    case 'MULTIPART_REQUEST':
      encodeMultipartRequest(w, msg);
      break;
    case 'MULTIPART_REPLY':
      encodeMultipartReply(w, msg);
      break;
    case 'QUEUE_GET_CONFIG_REQUEST':
      w.u32(portValue(msg.port));
      w.u32(0);
      break;
    case 'QUEUE_GET_CONFIG_REPLY':
      w.u32(portValue(msg.port));
      w.u32(0);
      for (const q of msg.queues) {
        const qs = w.pos;
        w.u32(q.queueId);
        w.u32(portValue(q.port));
        w.u16(0);
        w.zeros(6);
        for (const p of q.properties) {
          const ps = w.pos;
          if (p.property === 'MIN_RATE' || p.property === 'MAX_RATE') {
            w.u16(p.property === 'MIN_RATE' ? 1 : 2);
            w.u16(16);
            w.u32(0);
            w.u16(p.rate);
            w.zeros(6);
          } else if (p.property === 'EXPERIMENTER') {
            w.u16(0xffff);
            w.u16(0);
            w.u32(0);
            w.u32(p.experimenter);
            w.u32(0);
            w.bytes(p.data);
            w.patchLength16(ps + 2, ps, 'queue property');
          } else if (typeof p.property === 'number') {
            w.u16(p.property);
            w.u16(0);
            w.u32(0);
            w.bytes(p.data);
            w.patchLength16(ps + 2, ps, 'queue property');
          }
        }
        w.patchLength16(qs + 8, qs, 'packet queue');
      }
      break;
    case 'ROLE_REQUEST':
    case 'ROLE_REPLY':
      w.u32(ROLES.value(msg.role));
      w.u32(0);
      w.u64(msg.generationId);
      break;
    case 'GET_ASYNC_REPLY':
    case 'SET_ASYNC':
      w.u32(msg.packetInMask[0]);
      w.u32(msg.packetInMask[1]);
      w.u32(msg.portStatusMask[0]);
      w.u32(msg.portStatusMask[1]);
      w.u32(msg.flowRemovedMask[0]);
      w.u32(msg.flowRemovedMask[1]);
      break;
    case 'METER_MOD':
      w.u16(METER_MOD_COMMANDS.value(msg.command));
      w.u16(METER_FLAGS.encode(msg.flags));
      w.u32(meterIdValue(msg.meterId));
      encodeBands(w, msg.bands);
      break;
    default:
      throw new OFEncodeError('OF_BAD_VALUE', `unknown message type ${String((msg as { type: unknown }).type)}`);
  }
  w.patchLength16(start + 2, start, `${msg.type} message`);
}

function encodePort(w: Writer, p: PortDesc): void {
  w.u32(portValue(p.portNo));
  w.u32(0);
  mac(w, p.hwAddr);
  w.u16(0);
  w.fixedString(p.name, 16);
  w.u32(PORT_CONFIG.encode(p.config));
  w.u32(PORT_STATE.encode(p.state));
  w.u32(PORT_FEATURES.encode(p.curr));
  w.u32(PORT_FEATURES.encode(p.advertised));
  w.u32(PORT_FEATURES.encode(p.supported));
  w.u32(PORT_FEATURES.encode(p.peer));
  w.u32(p.currSpeed);
  w.u32(p.maxSpeed);
}

function encodeBuckets(w: Writer, buckets: readonly Bucket[]): void {
  for (const bk of buckets) {
    const s = w.pos;
    w.u16(0);
    w.u16(bk.weight);
    w.u32(portValue(bk.watchPort));
    w.u32(groupIdValue(bk.watchGroup));
    w.u32(0);
    encodeActions(w, bk.actions);
    w.patchLength16(s, s, 'bucket');
  }
}

function encodeBands(w: Writer, bands: readonly MeterBand[]): void {
  for (const band of bands) {
    const s = w.pos;
    w.u16(band.type === 'DROP' ? 1 : band.type === 'DSCP_REMARK' ? 2 : 0xffff);
    w.u16(0);
    w.u32(band.rate);
    w.u32(band.burstSize);
    if (band.type === 'DSCP_REMARK') {
      w.u8(band.precLevel);
      w.zeros(3);
    } else if (band.type === 'EXPERIMENTER') {
      w.u32(band.experimenter);
      w.bytes(band.data);
      w.pad8(s);
    } else {
      w.u32(0);
    }
    w.patchLength16(s + 2, s, 'meter band');
  }
}

function encodeFlowStatsRequest(w: Writer, r: FlowStatsRequest): void {
  w.u8(tableIdValue(r.tableId));
  w.zeros(3);
  w.u32(portValue(r.outPort));
  w.u32(groupIdValue(r.outGroup));
  w.u32(0);
  w.u64(r.cookie);
  w.u64(r.cookieMask);
  encodeMatch(w, r.match);
}

function encodeFlowStats(w: Writer, f: FlowStats): void {
  const s = w.pos;
  w.u16(0);
  w.u8(f.tableId);
  w.u8(0);
  w.u32(f.durationSec);
  w.u32(f.durationNsec);
  w.u16(f.priority);
  w.u16(f.idleTimeout);
  w.u16(f.hardTimeout);
  w.u16(FLOW_MOD_FLAGS.encode(f.flags));
  w.u32(0);
  w.u64(f.cookie);
  w.u64(f.packetCount);
  w.u64(f.byteCount);
  encodeMatch(w, f.match);
  encodeInstructions(w, f.instructions);
  w.patchLength16(s, s, 'flow stats entry');
}

const PROP_TYPES: Record<string, number> = {
  INSTRUCTIONS: 0, INSTRUCTIONS_MISS: 1, NEXT_TABLES: 2, NEXT_TABLES_MISS: 3, WRITE_ACTIONS: 4,
  WRITE_ACTIONS_MISS: 5, APPLY_ACTIONS: 6, APPLY_ACTIONS_MISS: 7, MATCH: 8, WILDCARDS: 10, WRITE_SETFIELD: 12,
  WRITE_SETFIELD_MISS: 13, APPLY_SETFIELD: 14, APPLY_SETFIELD_MISS: 15, EXPERIMENTER: 0xfffe, EXPERIMENTER_MISS: 0xffff,
};

function encodeTableFeatureProp(w: Writer, p: TableFeatureProp): void {
  const s = w.pos;
  const type = typeof p.type === 'number' ? p.type : PROP_TYPES[p.type];
  if (type === undefined) throw new OFEncodeError('OF_BAD_VALUE', `unknown table feature property ${String(p.type)}`);
  w.u16(type);
  w.u16(0);
  if ('ids' in p) {
    for (const id of p.ids) {
      w.u16(id.type);
      w.u16(4 + (id.data?.length ?? 0));
      if (id.data) w.bytes(id.data);
    }
  } else if ('tableIds' in p) {
    for (const t of p.tableIds) w.u8(t);
  } else if ('oxmIds' in p) {
    for (const id of p.oxmIds) {
      w.u32(((id.oxmClass << 16) | (id.oxmField << 9) | (id.hasMask ? 0x100 : 0) | (id.length & 0xff)) >>> 0);
      if (id.oxmClass === 0xffff) w.u32(id.experimenter ?? 0);
    }
  } else if ('experimenter' in p) {
    w.u32(p.experimenter);
    w.u32(p.expType);
    w.bytes(p.data);
  } else {
    w.bytes(p.data);
  }
  w.patchLength16(s + 2, s, 'table feature property');
  w.pad8(s);
}

function encodeTableFeatures(w: Writer, list: readonly TableFeatures[]): void {
  for (const t of list) {
    const s = w.pos;
    w.u16(0);
    w.u8(t.tableId);
    w.zeros(5);
    w.fixedString(t.name, 32);
    w.u64(t.metadataMatch);
    w.u64(t.metadataWrite);
    w.u32(t.config);
    w.u32(t.maxEntries);
    for (const p of t.properties) encodeTableFeatureProp(w, p);
    w.patchLength16(s, s, 'table features');
  }
}

function mpHeader(w: Writer, mpType: string, more: boolean): void {
  const v = (MP_TYPES as Record<string, number>)[mpType];
  if (v === undefined) throw new OFEncodeError('OF_BAD_VALUE', `unknown multipart type ${mpType}`);
  w.u16(v);
  w.u16(more ? 1 : 0);
  w.u32(0);
}

function encodeMultipartRequest(w: Writer, m: MultipartRequestMessage): void {
  mpHeader(w, m.mpType, m.flags.includes('REQ_MORE'));
  switch (m.mpType) {
    case 'DESC': case 'TABLE': case 'GROUP_DESC': case 'GROUP_FEATURES': case 'METER_FEATURES': case 'PORT_DESC':
      return;
    case 'FLOW': case 'AGGREGATE': encodeFlowStatsRequest(w, m.body); return;
    case 'PORT_STATS': w.u32(portValue(m.body.portNo)); w.u32(0); return;
    case 'QUEUE': w.u32(portValue(m.body.portNo)); w.u32(queueIdValue(m.body.queueId)); return;
    case 'GROUP': w.u32(groupIdValue(m.body.groupId)); w.u32(0); return;
    case 'METER': case 'METER_CONFIG': w.u32(meterIdValue(m.body.meterId)); w.u32(0); return;
    case 'TABLE_FEATURES': encodeTableFeatures(w, m.body); return;
    case 'EXPERIMENTER': w.u32(m.body.experimenter); w.u32(m.body.expType); w.bytes(m.body.data); return;
  }
}

function encodeMultipartReply(w: Writer, m: MultipartReplyMessage): void {
  mpHeader(w, m.mpType, m.flags.includes('REPLY_MORE'));
  switch (m.mpType) {
    case 'DESC':
      w.fixedString(m.body.mfrDesc, 256);
      w.fixedString(m.body.hwDesc, 256);
      w.fixedString(m.body.swDesc, 256);
      w.fixedString(m.body.serialNum, 32);
      w.fixedString(m.body.dpDesc, 256);
      return;
    case 'FLOW': for (const f of m.body) encodeFlowStats(w, f); return;
    case 'AGGREGATE': w.u64(m.body.packetCount); w.u64(m.body.byteCount); w.u32(m.body.flowCount); w.u32(0); return;
    case 'TABLE':
      for (const t of m.body) {
        w.u8(t.tableId); w.zeros(3); w.u32(t.activeCount); w.u64(t.lookupCount); w.u64(t.matchedCount);
      }
      return;
    case 'PORT_STATS':
      for (const p of m.body) {
        w.u32(portValue(p.portNo)); w.u32(0);
        for (const v of [p.rxPackets, p.txPackets, p.rxBytes, p.txBytes, p.rxDropped, p.txDropped, p.rxErrors,
          p.txErrors, p.rxFrameErr, p.rxOverErr, p.rxCrcErr, p.collisions]) w.u64(v);
        w.u32(p.durationSec); w.u32(p.durationNsec);
      }
      return;
    case 'QUEUE':
      for (const q of m.body) {
        w.u32(portValue(q.portNo)); w.u32(q.queueId); w.u64(q.txBytes); w.u64(q.txPackets); w.u64(q.txErrors);
        w.u32(q.durationSec); w.u32(q.durationNsec);
      }
      return;
    case 'GROUP':
      for (const g of m.body) {
        const s = w.pos;
        w.u16(0); w.u16(0); w.u32(groupIdValue(g.groupId)); w.u32(g.refCount); w.u32(0);
        w.u64(g.packetCount); w.u64(g.byteCount); w.u32(g.durationSec); w.u32(g.durationNsec);
        for (const bs of g.bucketStats) { w.u64(bs.packetCount); w.u64(bs.byteCount); }
        w.patchLength16(s, s, 'group stats');
      }
      return;
    case 'GROUP_DESC':
      for (const g of m.body) {
        const s = w.pos;
        w.u16(0); w.u8(GROUP_TYPES.value(g.groupType)); w.u8(0); w.u32(groupIdValue(g.groupId));
        encodeBuckets(w, g.buckets);
        w.patchLength16(s, s, 'group desc');
      }
      return;
    case 'GROUP_FEATURES':
      w.u32(m.body.types); w.u32(m.body.capabilities);
      for (let i = 0; i < 4; i++) w.u32(m.body.maxGroups[i] ?? 0);
      for (let i = 0; i < 4; i++) w.u32(m.body.actions[i] ?? 0);
      return;
    case 'METER':
      for (const s0 of m.body) {
        const s = w.pos;
        w.u32(meterIdValue(s0.meterId)); w.u16(0); w.zeros(6); w.u32(s0.flowCount); w.u64(s0.packetInCount);
        w.u64(s0.byteInCount); w.u32(s0.durationSec); w.u32(s0.durationNsec);
        for (const bs of s0.bandStats) { w.u64(bs.packetBandCount); w.u64(bs.byteBandCount); }
        w.patchLength16(s + 4, s, 'meter stats');
      }
      return;
    case 'METER_CONFIG':
      for (const c of m.body) {
        const s = w.pos;
        w.u16(0); w.u16(METER_FLAGS.encode(c.flags)); w.u32(meterIdValue(c.meterId));
        encodeBands(w, c.bands);
        w.patchLength16(s, s, 'meter config');
      }
      return;
    case 'METER_FEATURES':
      w.u32(m.body.maxMeter); w.u32(m.body.bandTypes); w.u32(m.body.capabilities); w.u8(m.body.maxBands);
      w.u8(m.body.maxColor); w.u16(0);
      return;
    case 'TABLE_FEATURES': encodeTableFeatures(w, m.body); return;
    case 'PORT_DESC': for (const p of m.body) encodePort(w, p); return;
    case 'EXPERIMENTER': w.u32(m.body.experimenter); w.u32(m.body.expType); w.bytes(m.body.data); return;
  }
}
