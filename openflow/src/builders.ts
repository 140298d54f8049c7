// Builders that fill in the spec defaults (7.3.4.2 and friends), so callers state only what matters.
import type { BundleCtrlType, BundleFlag } from './consts.js';
import type {
  BarrierRequestMessage, BundleAddMessage, BundleControlMessage, EchoReplyMessage, EchoRequestMessage, ErrorMessage,
  FeaturesRequestMessage, FlowModMessage, HelloMessage, MultipartRequestMessage, OFMessage, PacketOutMessage,
  RoleRequestMessage, SetConfigMessage, ControllerRole, FlowStatsRequest,
} from './messages.js';
import type { Action, FlowModBody, Match } from './types.js';

/**
 * A FLOW_MOD with defaults: ADD, table 0, cookie 0, cookieMask 0n, no timeouts, priority 0x8000
 * (OFP_DEFAULT_PRIORITY), bufferId NO_BUFFER, outPort ANY, outGroup ANY, no flags, empty match and
 * instructions.
 */
export function flowMod(partial: Partial<FlowModBody> & { xid?: number } = {}): FlowModMessage {
  return {
    type: 'FLOW_MOD',
    xid: partial.xid ?? 0,
    cookie: partial.cookie ?? 0n,
    cookieMask: partial.cookieMask ?? 0n,
    tableId: partial.tableId ?? 0,
    command: partial.command ?? 'ADD',
    idleTimeout: partial.idleTimeout ?? 0,
    hardTimeout: partial.hardTimeout ?? 0,
    priority: partial.priority ?? 0x8000,
    bufferId: partial.bufferId ?? 'NO_BUFFER',
    outPort: partial.outPort ?? 'ANY',
    outGroup: partial.outGroup ?? 'ANY',
    flags: partial.flags ?? [],
    match: partial.match ?? [],
    instructions: partial.instructions ?? [],
  };
}

/** HELLO advertising OpenFlow 1.3 only (version bitmap element, 7.5.1). */
export function hello(xid = 0, versions: number[] = [4]): HelloMessage {
  return { type: 'HELLO', xid, elements: [{ type: 'VERSIONBITMAP', versions }] };
}

export function echoRequest(xid = 0, data: Uint8Array = new Uint8Array(0)): EchoRequestMessage {
  return { type: 'ECHO_REQUEST', xid, data };
}

/** The reply to an ECHO_REQUEST: same xid and payload (7.5.2). */
export function echoReply(req: { xid: number; data: Uint8Array }): EchoReplyMessage {
  return { type: 'ECHO_REPLY', xid: req.xid, data: req.data };
}

export function featuresRequest(xid = 0): FeaturesRequestMessage {
  return { type: 'FEATURES_REQUEST', xid };
}

export function barrierRequest(xid = 0): BarrierRequestMessage {
  return { type: 'BARRIER_REQUEST', xid };
}

export function setConfig(xid = 0, missSendLen: number | 'NO_BUFFER' = 'NO_BUFFER', flags = 0): SetConfigMessage {
  return { type: 'SET_CONFIG', xid, flags, missSendLen };
}

export function roleRequest(role: ControllerRole, generationId: bigint, xid = 0): RoleRequestMessage {
  return { type: 'ROLE_REQUEST', xid, role, generationId };
}

export function packetOut(actions: Action[], data: Uint8Array, opts: { xid?: number; inPort?: PacketOutMessage['inPort'] } = {}): PacketOutMessage {
  return { type: 'PACKET_OUT', xid: opts.xid ?? 0, bufferId: 'NO_BUFFER', inPort: opts.inPort ?? 'CONTROLLER', actions, data };
}

/** A FLOW multipart request: all tables, any out port/group, no cookie filter unless given. */
export function flowStatsRequest(opts: Partial<FlowStatsRequest> & { xid?: number } = {}): MultipartRequestMessage {
  return {
    type: 'MULTIPART_REQUEST', xid: opts.xid ?? 0, mpType: 'FLOW', flags: [],
    body: {
      tableId: opts.tableId ?? 'ALL', outPort: opts.outPort ?? 'ANY', outGroup: opts.outGroup ?? 'ANY',
      cookie: opts.cookie ?? 0n, cookieMask: opts.cookieMask ?? 0n, match: opts.match ?? ([] as Match),
    },
  };
}

export function portDescRequest(xid = 0): MultipartRequestMessage {
  return { type: 'MULTIPART_REQUEST', xid, mpType: 'PORT_DESC', flags: [] };
}

export function descRequest(xid = 0): MultipartRequestMessage {
  return { type: 'MULTIPART_REQUEST', xid, mpType: 'DESC', flags: [] };
}

export function bundleControl(bundleId: number, ctrlType: BundleCtrlType, flags: BundleFlag[] = ['ATOMIC'], xid = 0): BundleControlMessage {
  return { type: 'BUNDLE_CONTROL', xid, bundleId, ctrlType, flags, properties: new Uint8Array(0) };
}

/** Wraps a message for an open bundle; the outer xid is the inner message's, as Open vSwitch expects. */
export function bundleAdd(bundleId: number, message: OFMessage, flags: BundleFlag[] = ['ATOMIC']): BundleAddMessage {
  return { type: 'BUNDLE_ADD_MESSAGE', xid: message.xid, bundleId, flags, message, properties: new Uint8Array(0) };
}

/**
 * The OFPT_ERROR answering a message that failed to decode: type/code from the error's ofpError,
 * data = at most the first 64 bytes of the offending message (spec 7.4.4), same xid.
 */
export function errorReply(err: { ofpError: { type: string; code: string } }, offending: Uint8Array): ErrorMessage {
  const xid = offending.length >= 8 ? ((offending[4]! << 24) >>> 0) + ((offending[5]! << 16) | (offending[6]! << 8) | offending[7]!) : 0;
  return {
    type: 'ERROR', xid, errType: err.ofpError.type as ErrorMessage['errType'], code: err.ofpError.code,
    data: Buffer.from(offending.subarray(0, 64)),
  };
}
