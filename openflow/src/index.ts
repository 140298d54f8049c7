// node-openflow: an OpenFlow 1.3.5 codec for Node.js.
//
//   decode(buf)            exactly one message -> OFMessage; throws only OFDecodeError
//                          { code: 'OF_*', offset, ofpError: { type, typeValue, code, codeValue } }
//   encode(msg)            OFMessage -> Buffer (a view of an internal slab; lengths computed here)
//   encodeInto(writer, m)  append to a growing Writer: thousands of FLOW_MODs, no per-message allocation
//   new OFFramer().push(chunk) -> Buffer[] of whole raw messages from a TCP stream; .end() at its end
//                          (a bad header after whole messages of a chunk is thrown by the next push/end)
//   flowMod({...}), hello(), barrierRequest(), bundleControl(), bundleAdd(), errorReply(), ...
//   checkPrerequisites(match) / checkMatch(match)     what the switch would reject, before sending
//   canonicalMatch / matchKey / instructionsKey / flowKey   compare sent flows with dumped ones
//   MultipartAssembler / splitMultipartReply           REPLY_MORE reassembly and splitting
//   toJSON / fromJSON      bigint as decimal strings, bytes as hex (for the ofp CLI and tests)
//
// Messages are `{ type: 'FLOW_MOD', xid, ...body }` (the OFPT_* name without prefix), multipart
// ones also carry `mpType` and `flags`. The ONF bundle extension (experimenter 0x4f4e4600,
// exp_type 2300/2301, as Open vSwitch implements it for 1.3) decodes to BUNDLE_CONTROL and
// BUNDLE_ADD_MESSAGE. Value conventions are in types.ts.
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
