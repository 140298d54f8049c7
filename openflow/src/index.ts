// node-openflow: an OpenFlow 1.3.5 codec. decode()/encode() for every message (OFPT 0-29) plus the
// ONF bundle extension as Open vSwitch implements it in 1.3; a stream framer; builders with spec
// defaults; OXM prerequisite checks; canonical match/instruction keys; multipart reassembly.
export * from './types.js';
export type * from './messages.js';
export { decode } from './decode.js';
export { encode, encodeInto } from './encode.js';
export { Writer } from './writer.js';
export { OFFramer, OFP_MAX_MESSAGE } from './framer.js';
export type { OFFramerOptions } from './framer.js';
export { OFError, OFDecodeError, OFEncodeError } from './errors.js';
export type { OFDecodeErrorCode, OfpErrorRef } from './errors.js';
export {
  flowMod, hello, echoRequest, echoReply, featuresRequest, barrierRequest, setConfig, roleRequest, packetOut,
  flowStatsRequest, portDescRequest, descRequest, bundleControl, bundleAdd, errorReply,
} from './builders.js';
export { checkPrerequisites, checkMatch } from './prereq.js';
export type { PrereqResult, MatchCheck } from './prereq.js';
export { canonicalMatch, canonicalOxm, canonicalFieldRef, matchKey, instructionsKey, flowKey } from './canonical.js';
export { MultipartAssembler, splitMultipartReply } from './multipart.js';
export type { MultipartAssemblerOptions } from './multipart.js';
export { toJSON, fromJSON } from './json.js';
export type { JsonValue } from './json.js';
export { OXM_FIELDS, OXM_BY_NAME, encodeOxm, decodeOxm, encodeMatch, decodeMatch } from './oxm.js';
export { encodeAction, decodeAction, encodeInstruction, decodeInstruction } from './actions.js';
export type { OxmFieldDef, OxmKind } from './oxm.js';
export {
  PORTS, MSG_TYPES, MP_TYPES, ERROR_TYPES, ERROR_CODES, NX_VENDOR_ID, ONF_VENDOR_ID, OFP_NO_BUFFER,
  portName, portValue,
} from './consts.js';
export { formatMac, formatIpv4, formatIpv6, toHex, fromHex } from './addr.js';
