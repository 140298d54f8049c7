// The message reader: decode(buf) turns exactly one OpenFlow 1.3 message into an OFMessage.
// Every variable-length structure is bounded by hand (length >= its header, a multiple of 8 where
// the spec says so, inside its container) before anything inside it is read; fixed layouts are then
// read by binary-parser (layouts.ts) or by hand on the hot paths. Only OFDecodeError escapes.
import { formatMac } from './addr.js';
import { decodeActions, decodeInstructions } from './actions.js';
import {
  BUNDLE_CTRL_TYPES, BUNDLE_FLAGS, CAPABILITIES, ERROR_CODES, ERROR_TYPES, FLOW_MOD_COMMANDS, FLOW_MOD_FLAGS,
  FLOW_REMOVED_REASONS, GROUP_MOD_COMMANDS, GROUP_TYPES, METER_FLAGS, METER_MOD_COMMANDS, MP_TYPE_NAMES,
  MSG_TYPE_NAMES, ONF_ET_BUNDLE_ADD_MESSAGE, ONF_ET_BUNDLE_CONTROL, ONF_VENDOR_ID, PACKET_IN_REASONS,
  PORT_CONFIG, PORT_FEATURES, PORT_REASONS, PORT_STATE, ROLES, bufferIdName, groupIdName, maxLenName,
  meterIdName, portName, queueIdName, tableIdName,
} from './consts.js';
import { ERR, OFDecodeError } from './errors.js';
import type { OfpErrorRef } from './errors.js';
import * as L from './layouts.js';
import type {
  AggregateStats, Bucket, DescStats, FlowStatsRequest, ErrorMessage, GroupDesc, GroupFeatures, GroupStats, HelloElement, MeterBand,
  MeterConfig, MeterFeatures, MeterStats, OFMessage, OxmId, PacketQueue, PortDesc, PortStats, QueueProp,
  QueueStats, TableFeatureProp, TableFeatures, TableStats, TlvId,
} from './messages.js';
import { oxmDefByHeader, decodeMatch } from './oxm.js';
import { copyBytes, cstr, fail, need, u16, u32, u64 } from './reader.js';
import type { FlowStats } from './types.js';

const OFP_HEADER_LEN = 8;

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/**
 * Decodes exactly one message: the buffer must hold one whole message and nothing else.
 * Throws OFDecodeError (and nothing else) on any malformed input.
 */
export function decode(input: Uint8Array): OFMessage {
  if (!(input instanceof Uint8Array)) throw new OFDecodeError('OF_TRUNCATED', 0, 'input is not a Uint8Array');
  const b = asBuffer(input);
  need(b.length, 0, OFP_HEADER_LEN, 'ofp_header');
  const length = u16(b, 2);
  if (length < OFP_HEADER_LEN) fail('OF_BAD_LENGTH', 2, `header length ${length} < 8`);
  if (length > b.length) fail('OF_TRUNCATED', 2, `header length ${length} but only ${b.length} bytes`);
  if (length < b.length) fail('OF_BAD_LENGTH', 2, `header length ${length} but ${b.length} bytes given (decode takes one message)`);
  try {
    return decodeAt(b, 0, 0);
  } catch (e) {
    if (e instanceof OFDecodeError) throw e;
    // Defence in depth: a bug must still surface as the one documented error type.
    throw new OFDecodeError('OF_BAD_LENGTH', 0, `internal decoder error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Decodes the message whose header starts at o; its length field has been checked to fit b. */
function decodeAt(b: Buffer, o: number, depth: number): OFMessage {
  const version = b[o]!;
  const type = b[o + 1]!;
  const end = o + u16(b, o + 2);
  const xid = u32(b, o + 4);
  if (type === 0) return decodeHello(b, o, end, xid, version);
  // A peer refusing our version answers OFPET_HELLO_FAILED in its own version (spec 7.5.1); that one
  // error has the same layout in every version, so it is the only non-1.3 message besides HELLO we read.
  if (type === 1 && version !== 4 && depth === 0 && end - o >= 12 && u16(b, o + 8) === 0) {
    return { ...decodeError(b, o + OFP_HEADER_LEN, end, xid), version };
  }
  if (version !== 4) fail('OF_BAD_VERSION', o, `version ${version} is not OpenFlow 1.3 (4)`, ERR.BAD_REQUEST_BAD_VERSION);
  const name = MSG_TYPE_NAMES[type];
  const p = o + OFP_HEADER_LEN;
  const len = end - p;
  switch (name) {
    case 'ERROR': return decodeError(b, p, end, xid);
    case 'ECHO_REQUEST': return { type: 'ECHO_REQUEST', xid, data: copyBytes(b, p, end) };
    case 'ECHO_REPLY': return { type: 'ECHO_REPLY', xid, data: copyBytes(b, p, end) };
    case 'EXPERIMENTER': return decodeExperimenter(b, p, end, xid, depth);
    case 'FEATURES_REQUEST': exactLen(len, 0, o, name); return { type: 'FEATURES_REQUEST', xid };
    case 'FEATURES_REPLY': {
      exactLen(len, 24, o, name);
      const f = L.FEATURES.parse(b.subarray(p, end)) as L.FeaturesRaw;
      return {
        type: 'FEATURES_REPLY', xid, datapathId: f.datapathId, nBuffers: f.nBuffers, nTables: f.nTables,
        auxiliaryId: f.auxiliaryId, capabilities: CAPABILITIES.decode(f.capabilities), reserved: f.reserved,
      };
    }
    case 'GET_CONFIG_REQUEST': exactLen(len, 0, o, name); return { type: 'GET_CONFIG_REQUEST', xid };
    case 'GET_CONFIG_REPLY':
    case 'SET_CONFIG':
      exactLen(len, 4, o, name);
      return { type: name, xid, flags: u16(b, p), missSendLen: maxLenName(u16(b, p + 2)) };
    case 'PACKET_IN': return decodePacketIn(b, p, end, xid);
    case 'FLOW_REMOVED': {
      need(end, p, 40, 'FLOW_REMOVED body', 'OF_BAD_LENGTH');
      const f = L.FLOW_REMOVED.parse(b.subarray(p, p + 40)) as L.FlowRemovedRaw;
      const [match, mend] = decodeMatch(b, p + 40, end);
      if (mend !== end) fail('OF_BAD_LENGTH', mend, 'bytes after the FLOW_REMOVED match');
      return {
        type: 'FLOW_REMOVED', xid, cookie: f.cookie, priority: f.priority,
        reason: FLOW_REMOVED_REASONS.name(f.reason), tableId: f.tableId,
        durationSec: f.durationSec, durationNsec: f.durationNsec, idleTimeout: f.idleTimeout, hardTimeout: f.hardTimeout,
        packetCount: f.packetCount, byteCount: f.byteCount, match,
      };
    }
    case 'PORT_STATUS':
      exactLen(len, 72, o, name);
      return { type: 'PORT_STATUS', xid, reason: PORT_REASONS.name(b[p]!), port: decodePort(b, p + 8) };
    case 'PACKET_OUT': {
      need(end, p, 16, 'PACKET_OUT body', 'OF_BAD_LENGTH');
      const actionsLen = u16(b, p + 8);
      const aend = p + 16 + actionsLen;
      if (aend > end) fail('OF_BAD_LENGTH', p + 8, `actions_len ${actionsLen} overruns the message`);
      return {
        type: 'PACKET_OUT', xid, bufferId: bufferIdName(u32(b, p)), inPort: portName(u32(b, p + 4)),
        actions: decodeActions(b, p + 16, aend), data: copyBytes(b, aend, end),
      };
    }
    case 'FLOW_MOD': return decodeFlowMod(b, p, end, xid);
    case 'GROUP_MOD': {
      need(end, p, 8, 'GROUP_MOD body', 'OF_BAD_LENGTH');
      const command = GROUP_MOD_COMMANDS.byValue.get(u16(b, p));
      if (command === undefined) fail('OF_BAD_VALUE', p, `group mod command ${u16(b, p)}`, { type: 'GROUP_MOD_FAILED', typeValue: 6, code: 'BAD_COMMAND', codeValue: 11 });
      const groupType = GROUP_TYPES.byValue.get(b[p + 2]!);
      if (groupType === undefined) fail('OF_BAD_VALUE', p + 2, `group type ${b[p + 2]}`, { type: 'GROUP_MOD_FAILED', typeValue: 6, code: 'BAD_TYPE', codeValue: 10 });
      return { type: 'GROUP_MOD', xid, command, groupType, groupId: groupIdName(u32(b, p + 4)), buckets: decodeBuckets(b, p + 8, end) };
    }
    case 'PORT_MOD':
      exactLen(len, 32, o, name);
      return {
        type: 'PORT_MOD', xid, portNo: portName(u32(b, p)), hwAddr: formatMac(b, p + 8),
        config: PORT_CONFIG.decode(u32(b, p + 16)), mask: PORT_CONFIG.decode(u32(b, p + 20)),
        advertise: PORT_FEATURES.decode(u32(b, p + 24)),
      };
    case 'TABLE_MOD':
      exactLen(len, 8, o, name);
      return { type: 'TABLE_MOD', xid, tableId: tableIdName(b[p]!), config: u32(b, p + 4) };
    case 'MULTIPART_REQUEST': return decodeMultipart(b, p, end, xid, true);
    case 'MULTIPART_REPLY': return decodeMultipart(b, p, end, xid, false);
    case 'BARRIER_REQUEST': exactLen(len, 0, o, name); return { type: 'BARRIER_REQUEST', xid };
    case 'BARRIER_REPLY': exactLen(len, 0, o, name); return { type: 'BARRIER_REPLY', xid };
    case 'QUEUE_GET_CONFIG_REQUEST': exactLen(len, 8, o, name); return { type: 'QUEUE_GET_CONFIG_REQUEST', xid, port: portName(u32(b, p)) };
    case 'QUEUE_GET_CONFIG_REPLY': {
      need(end, p, 8, 'QUEUE_GET_CONFIG_REPLY body', 'OF_BAD_LENGTH');
      return { type: 'QUEUE_GET_CONFIG_REPLY', xid, port: portName(u32(b, p)), queues: decodeQueues(b, p + 8, end) };
    }
    case 'ROLE_REQUEST':
    case 'ROLE_REPLY':
      exactLen(len, 16, o, name);
      return { type: name, xid, role: ROLES.name(u32(b, p)), generationId: u64(b, p + 8) };
    case 'GET_ASYNC_REQUEST': exactLen(len, 0, o, name); return { type: 'GET_ASYNC_REQUEST', xid };
    case 'GET_ASYNC_REPLY':
    case 'SET_ASYNC':
      exactLen(len, 24, o, name);
      return {
        type: name, xid, packetInMask: [u32(b, p), u32(b, p + 4)], portStatusMask: [u32(b, p + 8), u32(b, p + 12)],
        flowRemovedMask: [u32(b, p + 16), u32(b, p + 20)],
      };
    case 'METER_MOD': {
      need(end, p, 8, 'METER_MOD body', 'OF_BAD_LENGTH');
      const command = METER_MOD_COMMANDS.byValue.get(u16(b, p));
      if (command === undefined) fail('OF_BAD_VALUE', p, `meter mod command ${u16(b, p)}`, { type: 'METER_MOD_FAILED', typeValue: 12, code: 'BAD_COMMAND', codeValue: 4 });
      return {
        type: 'METER_MOD', xid, command, flags: METER_FLAGS.decode(u16(b, p + 2)),
        meterId: meterIdName(u32(b, p + 4)), bands: decodeBands(b, p + 8, end),
      };
    }
    default:
      return fail('OF_BAD_TYPE', o + 1, `unknown message type ${type}`, ERR.BAD_REQUEST_BAD_TYPE);
  }
}

function exactLen(len: number, n: number, o: number, name: string | undefined): void {
  if (len !== n) fail('OF_BAD_LENGTH', o + 2, `${name} body is ${len} bytes, expected ${n}`);
}

function decodeHello(b: Buffer, o: number, end: number, xid: number, version: number): OFMessage {
  const elements: HelloElement[] = [];
  let p = o + OFP_HEADER_LEN;
  // 7.5.1: elements are TLVs (type, length incl. header) padded to 8 bytes.
  while (p < end) {
    need(end, p, 4, 'hello element header', 'OF_BAD_TLV_LEN');
    const type = u16(b, p);
    const len = u16(b, p + 2);
    if (len < 4 || p + len > end) fail('OF_BAD_TLV_LEN', p + 2, `hello element length ${len}`);
    if (type === 1) {
      if ((len & 3) !== 0) fail('OF_BAD_TLV_LEN', p + 2, `version bitmap length ${len} is not a multiple of 4`);
      const versions: number[] = [];
      for (let w = 0; (w + 1) * 4 < len; w++) {
        const word = u32(b, p + 4 + w * 4);
        for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) versions.push(w * 32 + bit);
      }
      elements.push({ type: 'VERSIONBITMAP', versions });
    } else {
      elements.push({ type, data: copyBytes(b, p + 4, p + len) });
    }
    p = Math.min(end, p + ((len + 7) & ~7));
  }
  return version === 4 ? { type: 'HELLO', xid, elements } : { type: 'HELLO', xid, version, elements };
}

function decodeError(b: Buffer, p: number, end: number, xid: number): ErrorMessage {
  need(end, p, 4, 'ERROR body', 'OF_BAD_LENGTH');
  const t = u16(b, p);
  const c = u16(b, p + 2);
  if (t === 0xffff) {
    // ofp_error_experimenter_msg: type, exp_type, experimenter, data.
    need(end, p, 8, 'experimenter ERROR body', 'OF_BAD_LENGTH');
    return { type: 'ERROR', xid, errType: 'EXPERIMENTER', code: c, experimenter: u32(b, p + 4), data: copyBytes(b, p + 8, end) };
  }
  const codes = ERROR_CODES[t];
  return {
    type: 'ERROR', xid, errType: ERROR_TYPES.name(t), code: codes ? codes.name(c) : c,
    data: copyBytes(b, p, end).subarray(4),
  };
}

function decodeExperimenter(b: Buffer, p: number, end: number, xid: number, depth: number): OFMessage {
  need(end, p, 8, 'EXPERIMENTER body', 'OF_BAD_LENGTH');
  const experimenter = u32(b, p);
  const expType = u32(b, p + 4);
  if (experimenter === ONF_VENDOR_ID && expType === ONF_ET_BUNDLE_CONTROL) {
    need(end, p + 8, 8, 'bundle control body', 'OF_BAD_LENGTH');
    const ctrl = BUNDLE_CTRL_TYPES.byValue.get(u16(b, p + 12));
    if (ctrl === undefined) fail('OF_BAD_VALUE', p + 12, `bundle control type ${u16(b, p + 12)}`, { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_EXP_TYPE', codeValue: 4 });
    return {
      type: 'BUNDLE_CONTROL', xid, bundleId: u32(b, p + 8), ctrlType: ctrl,
      flags: BUNDLE_FLAGS.decode(u16(b, p + 14)), properties: copyBytes(b, p + 16, end),
    };
  }
  if (experimenter === ONF_VENDOR_ID && expType === ONF_ET_BUNDLE_ADD_MESSAGE) {
    need(end, p + 8, 16, 'bundle add body', 'OF_BAD_LENGTH');
    const inner = p + 16;
    const innerLen = u16(b, inner + 2);
    if (innerLen < OFP_HEADER_LEN || inner + innerLen > end) fail('OF_BAD_LENGTH', inner + 2, `bundled message length ${innerLen} does not fit`);
    if (depth > 0 || (b[inner + 1] === 4 && u32(b, inner + 8) === ONF_VENDOR_ID && innerLen >= 16 && (u32(b, inner + 12) === ONF_ET_BUNDLE_CONTROL || u32(b, inner + 12) === ONF_ET_BUNDLE_ADD_MESSAGE))) {
      fail('OF_BAD_TYPE', inner + 1, 'a bundle message cannot be bundled', { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_TYPE', codeValue: 1 });
    }
    if (b[inner] !== 4) fail('OF_BAD_VERSION', inner, `bundled message version ${b[inner]}`, ERR.BAD_REQUEST_BAD_VERSION);
    const message = decodeAt(b, inner, depth + 1);
    return {
      type: 'BUNDLE_ADD_MESSAGE', xid, bundleId: u32(b, p + 8), flags: BUNDLE_FLAGS.decode(u16(b, p + 14)),
      message, properties: copyBytes(b, inner + innerLen, end),
    };
  }
  return { type: 'EXPERIMENTER', xid, experimenter, expType, data: copyBytes(b, p + 8, end) };
}

function decodePacketIn(b: Buffer, p: number, end: number, xid: number): OFMessage {
  // 7.4.1: buffer_id, total_len, reason, table_id, cookie, match, pad[2], data.
  need(end, p, 16, 'PACKET_IN body', 'OF_BAD_LENGTH');
  const [match, mend] = decodeMatch(b, p + 16, end);
  need(end, mend, 2, 'PACKET_IN pad', 'OF_BAD_LENGTH');
  return {
    type: 'PACKET_IN', xid, bufferId: bufferIdName(u32(b, p)), totalLen: u16(b, p + 4),
    reason: PACKET_IN_REASONS.name(b[p + 6]!), tableId: b[p + 7]!, cookie: u64(b, p + 8),
    match, data: copyBytes(b, mend + 2, end),
  };
}

function decodeFlowMod(b: Buffer, p: number, end: number, xid: number): OFMessage {
  // 7.3.4.1: 40 fixed bytes, then ofp_match (padded), then instructions to the end.
  need(end, p, 40, 'FLOW_MOD body', 'OF_BAD_LENGTH');
  const command = FLOW_MOD_COMMANDS.byValue.get(b[p + 17]!);
  if (command === undefined) fail('OF_BAD_VALUE', p + 17, `flow mod command ${b[p + 17]}`, ERR.FLOW_MOD_FAILED_BAD_COMMAND);
  const [match, mend] = decodeMatch(b, p + 40, end);
  return {
    type: 'FLOW_MOD', xid, cookie: u64(b, p), cookieMask: u64(b, p + 8), tableId: tableIdName(b[p + 16]!),
    command: command, idleTimeout: u16(b, p + 18), hardTimeout: u16(b, p + 20), priority: u16(b, p + 22),
    bufferId: bufferIdName(u32(b, p + 24)), outPort: portName(u32(b, p + 28)), outGroup: groupIdName(u32(b, p + 32)),
    flags: FLOW_MOD_FLAGS.decode(u16(b, p + 36)), match, instructions: decodeInstructions(b, mend, end),
  };
}

function decodePort(b: Buffer, p: number): PortDesc {
  const r = L.PORT.parse(b.subarray(p, p + L.PORT_LEN)) as L.PortRaw;
  return {
    portNo: portName(r.portNo), hwAddr: formatMac(r.hwAddr, 0), name: cstr(r.name, 0, 16),
    config: PORT_CONFIG.decode(r.config), state: PORT_STATE.decode(r.state),
    curr: PORT_FEATURES.decode(r.curr), advertised: PORT_FEATURES.decode(r.advertised),
    supported: PORT_FEATURES.decode(r.supported), peer: PORT_FEATURES.decode(r.peer),
    currSpeed: r.currSpeed, maxSpeed: r.maxSpeed,
  };
}

/** A TLV list entry's length, checked against its minimum, 8-alignment and container. */
function entryLen(b: Buffer, lenAt: number, start: number, end: number, min: number, what: string, ofpError: OfpErrorRef = ERR.BAD_REQUEST_BAD_LEN, align8 = true): number {
  need(end, start, min, what, 'OF_BAD_TLV_LEN', ofpError);
  const len = u16(b, lenAt);
  if (len < min || (align8 && (len & 7) !== 0) || start + len > end) {
    fail('OF_BAD_TLV_LEN', lenAt, `${what} length ${len} (minimum ${min}${align8 ? ', multiple of 8' : ''}, within ${end - start} bytes)`, ofpError);
  }
  return len;
}

function decodeBuckets(b: Buffer, p: number, end: number): Bucket[] {
  const out: Bucket[] = [];
  while (p < end) {
    // ofp_bucket, 7.3.4.3: len, weight, watch_port, watch_group, pad[4], actions.
    const len = entryLen(b, p, p, end, 16, 'bucket', ERR.GROUP_MOD_FAILED_BAD_BUCKET);
    out.push({
      weight: u16(b, p + 2), watchPort: portName(u32(b, p + 4)), watchGroup: groupIdName(u32(b, p + 8)),
      actions: decodeActions(b, p + 16, p + len),
    });
    p += len;
  }
  return out;
}

function decodeBands(b: Buffer, p: number, end: number): MeterBand[] {
  const out: MeterBand[] = [];
  while (p < end) {
    // ofp_meter_band_header, 7.3.4.4: type, len, rate, burst_size.
    const len = entryLen(b, p + 2, p, end, 16, 'meter band', ERR.METER_MOD_FAILED_BAD_BAND);
    const type = u16(b, p);
    const rate = u32(b, p + 4);
    const burstSize = u32(b, p + 8);
    if (type === 1) out.push({ type: 'DROP', rate, burstSize });
    else if (type === 2) out.push({ type: 'DSCP_REMARK', rate, burstSize, precLevel: b[p + 12]! });
    else if (type === 0xffff) out.push({ type: 'EXPERIMENTER', rate, burstSize, experimenter: u32(b, p + 12), data: copyBytes(b, p + 16, p + len) });
    else fail('OF_BAD_VALUE', p, `meter band type ${type}`, ERR.METER_MOD_FAILED_BAD_BAND);
    p += len;
  }
  return out;
}

function decodeQueues(b: Buffer, p: number, end: number): PacketQueue[] {
  const out: PacketQueue[] = [];
  while (p < end) {
    // ofp_packet_queue, 7.3.6: queue_id, port, len, pad[6], properties. The spec does not pad
    // queues or their properties to 8 bytes (an experimenter property may end on any byte).
    const len = entryLen(b, p + 8, p, end, 16, 'packet queue', ERR.BAD_REQUEST_BAD_LEN, false);
    const properties: QueueProp[] = [];
    const qend = p + len;
    let q = p + 16;
    while (q < qend) {
      const plen = entryLen(b, q + 2, q, qend, 8, 'queue property', ERR.BAD_REQUEST_BAD_LEN, false);
      const prop = u16(b, q);
      if ((prop === 1 || prop === 2) && plen === 16) properties.push({ property: prop === 1 ? 'MIN_RATE' : 'MAX_RATE', rate: u16(b, q + 8) });
      else if (prop === 0xffff && plen >= 16) properties.push({ property: 'EXPERIMENTER', experimenter: u32(b, q + 8), data: copyBytes(b, q + 16, q + plen) });
      else properties.push({ property: prop, data: copyBytes(b, q + 8, q + plen) });
      q += plen;
    }
    out.push({ queueId: u32(b, p), port: portName(u32(b, p + 4)), properties });
    p = qend;
  }
  return out;
}

function decodeFlowStatsRequest(b: Buffer, p: number, end: number): [FlowStatsRequest, number] {
  need(end, p, 32, 'flow stats request', 'OF_BAD_LENGTH');
  const [match, mend] = decodeMatch(b, p + 32, end);
  return [{
    tableId: tableIdName(b[p]!), outPort: portName(u32(b, p + 4)), outGroup: groupIdName(u32(b, p + 8)),
    cookie: u64(b, p + 16), cookieMask: u64(b, p + 24), match,
  }, mend];
}

function decodeFlowStats(b: Buffer, p: number, end: number): FlowStats[] {
  const out: FlowStats[] = [];
  while (p < end) {
    // ofp_flow_stats, 7.3.5.2: 48 fixed bytes, match, instructions; length covers all of it.
    const len = entryLen(b, p, p, end, 56, 'flow stats entry');
    const fend = p + len;
    const [match, mend] = decodeMatch(b, p + 48, fend);
    out.push({
      tableId: b[p + 2]!, durationSec: u32(b, p + 4), durationNsec: u32(b, p + 8), priority: u16(b, p + 12),
      idleTimeout: u16(b, p + 14), hardTimeout: u16(b, p + 16), flags: FLOW_MOD_FLAGS.decode(u16(b, p + 18)),
      cookie: u64(b, p + 24), packetCount: u64(b, p + 32), byteCount: u64(b, p + 40), match,
      instructions: decodeInstructions(b, mend, fend),
    });
    p = fend;
  }
  return out;
}

function fixedList<T>(b: Buffer, p: number, end: number, size: number, what: string, one: (at: number) => T): T[] {
  if ((end - p) % size !== 0) fail('OF_BAD_LENGTH', p, `${what} body of ${end - p} bytes is not a multiple of ${size}`);
  const out: T[] = [];
  for (; p < end; p += size) out.push(one(p));
  return out;
}

function decodeGroupDescs(b: Buffer, p: number, end: number): GroupDesc[] {
  const out: GroupDesc[] = [];
  while (p < end) {
    // ofp_group_desc, 7.3.5.10: length, type, pad, group_id, buckets.
    const len = entryLen(b, p, p, end, 8, 'group desc');
    const groupType = GROUP_TYPES.byValue.get(b[p + 2]!);
    if (groupType === undefined) fail('OF_BAD_VALUE', p + 2, `group type ${b[p + 2]}`);
    out.push({ groupType: groupType, groupId: groupIdName(u32(b, p + 4)), buckets: decodeBuckets(b, p + 8, p + len) });
    p += len;
  }
  return out;
}

function decodeGroupStats(b: Buffer, p: number, end: number): GroupStats[] {
  const out: GroupStats[] = [];
  while (p < end) {
    const len = entryLen(b, p, p, end, 40, 'group stats');
    if ((len - 40) % 16 !== 0) fail('OF_BAD_TLV_LEN', p, `group stats length ${len} leaves a partial bucket counter`);
    const r = L.GROUP_STATS.parse(b.subarray(p, p + 40)) as L.GroupStatsRaw;
    const bucketStats = [];
    for (let q = p + 40; q < p + len; q += 16) bucketStats.push({ packetCount: u64(b, q), byteCount: u64(b, q + 8) });
    out.push({
      groupId: groupIdName(r.groupId), refCount: r.refCount, packetCount: r.packetCount, byteCount: r.byteCount,
      durationSec: r.durationSec, durationNsec: r.durationNsec, bucketStats,
    });
    p += len;
  }
  return out;
}

function decodeMeterStats(b: Buffer, p: number, end: number): MeterStats[] {
  const out: MeterStats[] = [];
  while (p < end) {
    const len = entryLen(b, p + 4, p, end, 40, 'meter stats');
    if ((len - 40) % 16 !== 0) fail('OF_BAD_TLV_LEN', p + 4, `meter stats length ${len} leaves a partial band counter`);
    const r = L.METER_STATS.parse(b.subarray(p, p + 40)) as L.MeterStatsRaw;
    const bandStats = [];
    for (let q = p + 40; q < p + len; q += 16) bandStats.push({ packetBandCount: u64(b, q), byteBandCount: u64(b, q + 8) });
    out.push({
      meterId: meterIdName(r.meterId), flowCount: r.flowCount, packetInCount: r.packetInCount, byteInCount: r.byteInCount,
      durationSec: r.durationSec, durationNsec: r.durationNsec, bandStats,
    });
    p += len;
  }
  return out;
}

function decodeMeterConfigs(b: Buffer, p: number, end: number): MeterConfig[] {
  const out: MeterConfig[] = [];
  while (p < end) {
    // ofp_meter_config, 7.3.5.13: length, flags, meter_id, bands.
    const len = entryLen(b, p, p, end, 8, 'meter config');
    out.push({ flags: METER_FLAGS.decode(u16(b, p + 2)), meterId: meterIdName(u32(b, p + 4)), bands: decodeBands(b, p + 8, p + len) });
    p += len;
  }
  return out;
}

export const TABLE_FEATURE_PROP_NAMES: Record<number, string> = {
  0: 'INSTRUCTIONS', 1: 'INSTRUCTIONS_MISS', 2: 'NEXT_TABLES', 3: 'NEXT_TABLES_MISS', 4: 'WRITE_ACTIONS',
  5: 'WRITE_ACTIONS_MISS', 6: 'APPLY_ACTIONS', 7: 'APPLY_ACTIONS_MISS', 8: 'MATCH', 10: 'WILDCARDS',
  12: 'WRITE_SETFIELD', 13: 'WRITE_SETFIELD_MISS', 14: 'APPLY_SETFIELD', 15: 'APPLY_SETFIELD_MISS',
  0xfffe: 'EXPERIMENTER', 0xffff: 'EXPERIMENTER_MISS',
};

function decodeTableFeatureProps(b: Buffer, p: number, end: number): TableFeatureProp[] {
  const out: TableFeatureProp[] = [];
  const bad = ERR.TABLE_FEATURES_FAILED_BAD_LEN;
  while (p < end) {
    // 7.3.5.5.2: type, length (without padding), body, zero pad to a multiple of 8.
    need(end, p, 4, 'table feature property header', 'OF_BAD_TLV_LEN', bad);
    const type = u16(b, p);
    const len = u16(b, p + 2);
    const padded = (len + 7) & ~7;
    if (len < 4 || p + padded > end) fail('OF_BAD_TLV_LEN', p + 2, `table feature property length ${len} overruns its table`, bad);
    const pend = p + len;
    const name = TABLE_FEATURE_PROP_NAMES[type];
    let q = p + 4;
    if (type <= 7 && type !== 2 && type !== 3) {
      const ids: TlvId[] = [];
      while (q < pend) {
        need(pend, q, 4, 'instruction/action id', 'OF_BAD_TLV_LEN', bad);
        const ilen = u16(b, q + 2);
        if (ilen < 4 || q + ilen > pend) fail('OF_BAD_TLV_LEN', q + 2, `id length ${ilen}`, bad);
        ids.push(ilen > 4 ? { type: u16(b, q), data: copyBytes(b, q + 4, q + ilen) } : { type: u16(b, q) });
        q += ilen;
      }
      out.push({ type: name, ids } as TableFeatureProp);
    } else if (type === 2 || type === 3) {
      const tableIds: number[] = [];
      for (; q < pend; q++) tableIds.push(b[q]!);
      out.push({ type: name as 'NEXT_TABLES', tableIds });
    } else if (name !== undefined && type >= 8 && type <= 15) {
      const oxmIds: OxmId[] = [];
      while (q < pend) {
        need(pend, q, 4, 'OXM id', 'OF_BAD_TLV_LEN', bad);
        const h = u32(b, q);
        const oxmClass = h >>> 16;
        const oxmField = (h >>> 9) & 0x7f;
        const id: OxmId = { oxmClass, oxmField, hasMask: ((h >>> 8) & 1) === 1, length: h & 0xff };
        if (oxmClass === 0xffff) {
          need(pend, q, 8, 'experimenter OXM id', 'OF_BAD_TLV_LEN', bad);
          id.experimenter = u32(b, q + 4);
          q += 8;
        } else {
          const def = oxmDefByHeader(oxmClass, oxmField);
          if (def) id.name = def.name;
          q += 4;
        }
        oxmIds.push(id);
      }
      out.push({ type: name, oxmIds } as TableFeatureProp);
    } else if (type >= 0xfffe) {
      need(pend, q, 8, 'experimenter property', 'OF_BAD_TLV_LEN', bad);
      out.push({ type: name as 'EXPERIMENTER', experimenter: u32(b, q), expType: u32(b, q + 4), data: copyBytes(b, q + 8, pend) });
    } else {
      out.push({ type, data: copyBytes(b, q, pend) });
    }
    p += padded;
  }
  return out;
}

function decodeTableFeatures(b: Buffer, p: number, end: number): TableFeatures[] {
  const out: TableFeatures[] = [];
  while (p < end) {
    const len = entryLen(b, p, p, end, L.TABLE_FEATURES_LEN, 'table features', ERR.TABLE_FEATURES_FAILED_BAD_LEN);
    const r = L.TABLE_FEATURES.parse(b.subarray(p, p + L.TABLE_FEATURES_LEN)) as L.TableFeaturesRaw;
    out.push({
      tableId: r.tableId, name: cstr(r.name, 0, 32), metadataMatch: r.metadataMatch, metadataWrite: r.metadataWrite,
      config: r.config, maxEntries: r.maxEntries, properties: decodeTableFeatureProps(b, p + L.TABLE_FEATURES_LEN, p + len),
    });
    p += len;
  }
  return out;
}

function decodeMultipart(b: Buffer, p: number, end: number, xid: number, request: boolean): OFMessage {
  // ofp_multipart_request/reply, 7.3.5: type, flags, pad[4], body.
  need(end, p, 8, 'multipart header', 'OF_BAD_LENGTH');
  const t = u16(b, p);
  const mpType = MP_TYPE_NAMES.get(t);
  if (mpType === undefined) fail('OF_BAD_MULTIPART', p, `unknown multipart type ${t}`, ERR.BAD_REQUEST_BAD_MULTIPART);
  const more = (u16(b, p + 2) & 1) === 1;
  const q = p + 8;
  const len = end - q;
  const exact = (n: number): void => {
    if (len !== n) fail('OF_BAD_LENGTH', q, `${mpType} multipart body is ${len} bytes, expected ${n}`);
  };
  const mk = (body: unknown): OFMessage => (request
    ? { type: 'MULTIPART_REQUEST', xid, mpType, flags: more ? ['REQ_MORE'] : [], body }
    : { type: 'MULTIPART_REPLY', xid, mpType, flags: more ? ['REPLY_MORE'] : [], body }) as OFMessage;
  const none = (): OFMessage => (request
    ? { type: 'MULTIPART_REQUEST', xid, mpType, flags: more ? ['REQ_MORE'] : [] }
    : mk(undefined)) as OFMessage;
  const experimenter = (): OFMessage => {
    need(end, q, 8, 'experimenter multipart body', 'OF_BAD_LENGTH');
    return mk({ experimenter: u32(b, q), expType: u32(b, q + 4), data: copyBytes(b, q + 8, end) });
  };
  if (request) {
    switch (mpType) {
      case 'DESC': case 'TABLE': case 'GROUP_DESC': case 'GROUP_FEATURES': case 'METER_FEATURES': case 'PORT_DESC':
        exact(0);
        return none();
      case 'FLOW': case 'AGGREGATE': {
        const [body, mend] = decodeFlowStatsRequest(b, q, end);
        if (mend !== end) fail('OF_BAD_LENGTH', mend, 'bytes after the flow stats request match');
        return mk(body);
      }
      case 'PORT_STATS': exact(8); return mk({ portNo: portName(u32(b, q)) });
      case 'QUEUE': exact(8); return mk({ portNo: portName(u32(b, q)), queueId: queueIdName(u32(b, q + 4)) });
      case 'GROUP': exact(8); return mk({ groupId: groupIdName(u32(b, q)) });
      case 'METER': case 'METER_CONFIG': exact(8); return mk({ meterId: meterIdName(u32(b, q)) });
      case 'TABLE_FEATURES': return mk(decodeTableFeatures(b, q, end));
      case 'EXPERIMENTER': return experimenter();
    }
  }
  switch (mpType) {
    case 'DESC': {
      exact(L.DESC_LEN);
      const r = L.DESC.parse(b.subarray(q, end)) as L.DescRaw;
      const body: DescStats = {
        mfrDesc: cstr(r.mfrDesc, 0, 256), hwDesc: cstr(r.hwDesc, 0, 256), swDesc: cstr(r.swDesc, 0, 256),
        serialNum: cstr(r.serialNum, 0, 32), dpDesc: cstr(r.dpDesc, 0, 256),
      };
      return mk(body);
    }
    case 'FLOW': return mk(decodeFlowStats(b, q, end));
    case 'AGGREGATE': exact(L.AGGREGATE_LEN); return mk(L.AGGREGATE.parse(b.subarray(q, end)) as AggregateStats);
    case 'TABLE': return mk(fixedList(b, q, end, L.TABLE_STATS_LEN, 'table stats', (at) => L.TABLE_STATS.parse(b.subarray(at, at + L.TABLE_STATS_LEN)) as TableStats));
    case 'PORT_STATS': return mk(fixedList(b, q, end, L.PORT_STATS_LEN, 'port stats', (at) => {
      const r = L.PORT_STATS.parse(b.subarray(at, at + L.PORT_STATS_LEN)) as PortStats & { portNo: number };
      return { ...r, portNo: portName(r.portNo) };
    }));
    case 'QUEUE': return mk(fixedList(b, q, end, L.QUEUE_STATS_LEN, 'queue stats', (at) => {
      const r = L.QUEUE_STATS.parse(b.subarray(at, at + L.QUEUE_STATS_LEN)) as QueueStats & { portNo: number };
      return { ...r, portNo: portName(r.portNo) };
    }));
    case 'GROUP': return mk(decodeGroupStats(b, q, end));
    case 'GROUP_DESC': return mk(decodeGroupDescs(b, q, end));
    case 'GROUP_FEATURES': exact(L.GROUP_FEATURES_LEN); return mk(L.GROUP_FEATURES.parse(b.subarray(q, end)) as GroupFeatures);
    case 'METER': return mk(decodeMeterStats(b, q, end));
    case 'METER_CONFIG': return mk(decodeMeterConfigs(b, q, end));
    case 'METER_FEATURES': exact(L.METER_FEATURES_LEN); return mk(L.METER_FEATURES.parse(b.subarray(q, end)) as MeterFeatures);
    case 'TABLE_FEATURES': return mk(decodeTableFeatures(b, q, end));
    case 'PORT_DESC': return mk(fixedList(b, q, end, L.PORT_LEN, 'port desc', (at) => decodePort(b, at)));
    case 'EXPERIMENTER': return experimenter();
  }
}
