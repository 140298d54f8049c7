// Typed errors. Malformed input is data, not an exception path (ws lib/receiver.js, undici
// lib/core/errors.js): every decode failure is an OFDecodeError with a stable code, the byte
// offset where it was found, and the OFPT_ERROR type/code (spec 7.4.4) a controller answers with.

/** The ofp_error_msg type/code pair to send back, by name and number. */
export interface OfpErrorRef {
  type: string;
  typeValue: number;
  code: string;
  codeValue: number;
}

/** Stable decode error codes. */
export type OFDecodeErrorCode =
  | 'OF_TRUNCATED' // fewer bytes than a header or length field promises
  | 'OF_BAD_LENGTH' // a message length field that is too small, too big or inconsistent
  | 'OF_TOO_LARGE' // message larger than the framer's limit
  | 'OF_BAD_VERSION'
  | 'OF_BAD_TYPE'
  | 'OF_BAD_MULTIPART'
  | 'OF_BAD_EXPERIMENTER'
  | 'OF_BAD_MATCH_TYPE'
  | 'OF_BAD_MATCH_LEN'
  | 'OF_BAD_OXM_LEN'
  | 'OF_BAD_OXM_VALUE'
  | 'OF_BAD_ACTION_TYPE'
  | 'OF_BAD_ACTION_LEN'
  | 'OF_BAD_INSTRUCTION_TYPE'
  | 'OF_BAD_INSTRUCTION_LEN'
  | 'OF_BAD_TLV_LEN' // hello elements, buckets, bands, properties, stats entries
  | 'OF_BAD_VALUE'; // an enum value the spec does not define where no raw form exists

export const ERR = {
  BAD_REQUEST_BAD_LEN: { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_LEN', codeValue: 6 },
  BAD_REQUEST_BAD_VERSION: { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_VERSION', codeValue: 0 },
  BAD_REQUEST_BAD_TYPE: { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_TYPE', codeValue: 1 },
  BAD_REQUEST_BAD_MULTIPART: { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_MULTIPART', codeValue: 2 },
  BAD_REQUEST_BAD_EXPERIMENTER: { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_EXPERIMENTER', codeValue: 3 },
  BAD_REQUEST_BAD_EXP_TYPE: { type: 'BAD_REQUEST', typeValue: 1, code: 'BAD_EXP_TYPE', codeValue: 4 },
  BAD_MATCH_BAD_TYPE: { type: 'BAD_MATCH', typeValue: 4, code: 'BAD_TYPE', codeValue: 0 },
  BAD_MATCH_BAD_LEN: { type: 'BAD_MATCH', typeValue: 4, code: 'BAD_LEN', codeValue: 1 },
  BAD_MATCH_BAD_VALUE: { type: 'BAD_MATCH', typeValue: 4, code: 'BAD_VALUE', codeValue: 7 },
  BAD_ACTION_BAD_TYPE: { type: 'BAD_ACTION', typeValue: 2, code: 'BAD_TYPE', codeValue: 0 },
  BAD_ACTION_BAD_LEN: { type: 'BAD_ACTION', typeValue: 2, code: 'BAD_LEN', codeValue: 1 },
  BAD_ACTION_BAD_SET_LEN: { type: 'BAD_ACTION', typeValue: 2, code: 'BAD_SET_LEN', codeValue: 14 },
  BAD_INSTRUCTION_UNKNOWN_INST: { type: 'BAD_INSTRUCTION', typeValue: 3, code: 'UNKNOWN_INST', codeValue: 0 },
  BAD_INSTRUCTION_BAD_LEN: { type: 'BAD_INSTRUCTION', typeValue: 3, code: 'BAD_LEN', codeValue: 7 },
  FLOW_MOD_FAILED_BAD_COMMAND: { type: 'FLOW_MOD_FAILED', typeValue: 5, code: 'BAD_COMMAND', codeValue: 6 },
  GROUP_MOD_FAILED_BAD_BUCKET: { type: 'GROUP_MOD_FAILED', typeValue: 6, code: 'BAD_BUCKET', codeValue: 12 },
  METER_MOD_FAILED_BAD_BAND: { type: 'METER_MOD_FAILED', typeValue: 12, code: 'BAD_BAND', codeValue: 8 },
  TABLE_FEATURES_FAILED_BAD_LEN: { type: 'TABLE_FEATURES_FAILED', typeValue: 13, code: 'BAD_LEN', codeValue: 3 },
} satisfies Record<string, OfpErrorRef>;

export class OFError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Raised by decode(), the framer and the multipart reassembler; never anything else. */
export class OFDecodeError extends OFError {
  readonly code: OFDecodeErrorCode;
  /** Byte offset in the message (or, for the framer, in the stream) where the problem was found. */
  readonly offset: number;
  /** What a switch-side peer should send back in an OFPT_ERROR. */
  readonly ofpError: OfpErrorRef;
  constructor(code: OFDecodeErrorCode, offset: number, detail: string, ofpError: OfpErrorRef = ERR.BAD_REQUEST_BAD_LEN) {
    super(`${code} at byte ${offset}: ${detail}`);
    this.code = code;
    this.offset = offset;
    this.ofpError = ofpError;
  }
}

/** Raised by encode() when a message object cannot be put on the wire (bad value, too long). */
export class OFEncodeError extends OFError {
  readonly code: string;
  constructor(code: string, detail: string) {
    super(`${code}: ${detail}`);
    this.code = code;
  }
}
