// Hostile input: decode() throws OFDecodeError and nothing else, never hangs, never reads past a
// length. Covers Open vSwitch's fuzzer regression inputs, hand-written lying lengths, every
// truncation of every golden vector, and seeded random mutations.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decode, encode, flowMod, OFDecodeError, OFFramer } from '../src/index.js';
import type { OFDecodeErrorCode, OFMessage } from '../src/index.js';
import { testdataDir } from './support.js';

const malformedDir = join(testdataDir, 'malformed');
const packetDir = join(testdataDir, 'packet');
const golden = readdirSync(packetDir).filter((f) => f.endsWith('.packet')).sort().map((f) => readFileSync(join(packetDir, f)));

/** decode() either succeeds or throws OFDecodeError; anything else fails the test. */
function decodeOrTyped(b: Buffer, what: string): 'ok' | OFDecodeError {
  try {
    decode(b);
    return 'ok';
  } catch (e) {
    if (e instanceof OFDecodeError) {
      assert.ok(e.offset >= 0 && e.offset <= b.length, `${what}: offset ${e.offset} outside the input`);
      assert.equal(typeof e.ofpError.typeValue, 'number');
      return e;
    }
    throw new Error(`${what}: threw ${String(e)} instead of OFDecodeError`);
  }
}

/**
 * Strict: decode() gives OFDecodeError (offset inside the input), or a value that re-encodes
 * consistently (encode -> decode -> encode gives the same bytes and the same value). Nothing else.
 */
function decodeStrict(b: Buffer, what: string): 'ok' | OFDecodeError {
  let msg: OFMessage;
  try {
    msg = decode(b);
  } catch (e) {
    if (!(e instanceof OFDecodeError)) throw new Error(`${what}: threw ${String(e)} instead of OFDecodeError`);
    assert.ok(e.offset >= 0 && e.offset <= b.length, `${what}: offset ${e.offset} outside the input`);
    assert.ok(!e.message.includes('internal decoder error'), `${what}: ${e.message}`);
    return e;
  }
  const once = Buffer.from(encode(msg));
  const again = decode(once);
  assert.deepEqual(again, msg, `${what}: the value changes through encode -> decode`);
  assert.equal(encode(again).toString('hex'), once.toString('hex'), `${what}: encode(decode(encode(x))) differs`);
  return 'ok';
}

function rejects(hex: string, code: OFDecodeErrorCode, ofpType?: string, ofpCode?: string): void {
  const b = Buffer.from(hex.replace(/\s+/g, ''), 'hex');
  assert.throws(() => decode(b), (e: unknown) => {
    assert.ok(e instanceof OFDecodeError, `expected OFDecodeError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (ofpType) assert.equal(e.ofpError.type, ofpType);
    if (ofpCode) assert.equal(e.ofpError.code, ofpCode);
    return true;
  });
}

/** A FLOW_MOD header + fixed part (48 bytes) followed by `rest`, with the header length set. */
function flowModWith(rest: string): string {
  const fixed = Buffer.from(encode(flowMod({ priority: 1 })).subarray(0, 48));
  const body = Buffer.from(rest.replace(/\s+/g, ''), 'hex');
  const b = Buffer.concat([fixed, body]);
  b.writeUInt16BE(b.length, 2);
  return b.toString('hex');
}

/**
 * What each input gives once relabelled as version 4 (the same with its length fixed): the error
 * code, or the type of the message it decodes to (then it must re-encode consistently).
 */
const RELABELLED: Record<string, string> = {
  '4584019764183040': 'OF_BAD_VALUE',
  '4671928750702592': 'OF_BAD_LENGTH',
  '4730143510626304': 'ERROR',
  '4854119633256448': 'OF_BAD_VALUE',
  '5070973479944192': 'OF_BAD_LENGTH',
  '5072291707748352': 'OF_BAD_LENGTH',
  '5147430386401280': 'OF_BAD_VALUE',
  '5168455220199424': 'OF_BAD_TLV_LEN',
  '5190507327127552': 'OF_BAD_LENGTH',
  '5204186701496320': 'OF_BAD_VALUE',
  '5394482341085184': 'OF_BAD_VALUE',
  '5395207246839808': 'OF_BAD_LENGTH',
  '5647458888581120': 'PACKET_OUT',
  '5674119268925440': 'OF_BAD_TLV_LEN',
  '5674419757252608': 'OF_BAD_LENGTH',
  '5677588436484096': 'OF_BAD_TLV_LEN',
  '5706562554298368': 'OF_BAD_VALUE',
  '5722747668791296': 'OF_BAD_VALUE',
  '6285128790704128': 'OF_BAD_VALUE',
  '6470117922701312': 'OF_BAD_MATCH_TYPE',
  '6502620041576448': 'OF_BAD_MATCH_TYPE',
};

void describe('Open vSwitch fuzzer regression inputs', () => {
  const files = readdirSync(malformedDir).sort();
  const empty = files.filter((f) => readFileSync(join(malformedDir, f)).length === 0);
  void it('has all 22 inputs, one of them empty', () => {
    assert.equal(files.length, 22);
    assert.deepEqual(empty, ['ofp_print_fuzzer-6540965472632832']);
  });
  void it('the empty input is an empty stream: no message and no error; as one message it is OF_TRUNCATED', () => {
    const framer = new OFFramer();
    assert.deepEqual(framer.push(Buffer.alloc(0)), []);
    assert.equal(framer.end(), 0);
    assert.equal(framer.error, null);
    assert.throws(() => decode(Buffer.alloc(0)), { code: 'OF_TRUNCATED', offset: 0 });
  });
  for (const f of files.filter((x) => !empty.includes(x))) {
    void it(`rejects ${f} with OFDecodeError`, () => {
      const b = readFileSync(join(malformedDir, f));
      const r = decodeOrTyped(b, f);
      assert.ok(r instanceof OFDecodeError, `${f} was accepted`);
    });
    void it(`${f} relabelled as OpenFlow 1.3 is OFDecodeError or a value that re-encodes consistently`, () => {
      // Most inputs are other OpenFlow versions; with the version byte set to 4 they reach the body decoders.
      const b = Buffer.from(readFileSync(join(malformedDir, f)));
      b[0] = 4;
      const outcome = (r: 'ok' | OFDecodeError): string => (r === 'ok' ? decode(b).type : r.code);
      const want = RELABELLED[f.replace('ofp_print_fuzzer-', '')];
      assert.equal(outcome(decodeStrict(b, f)), want);
      b.writeUInt16BE(b.length & 0xffff, 2);
      assert.equal(outcome(decodeStrict(b, `${f} with its length fixed`)), want);
    });
  }
});

void describe('lying lengths', () => {
  void it('header: short input, length below 8, beyond the data, trailing bytes', () => {
    rejects('', 'OF_TRUNCATED');
    rejects('04000008000000', 'OF_TRUNCATED');
    rejects('0400000000000000', 'OF_BAD_LENGTH', 'BAD_REQUEST', 'BAD_LEN');
    rejects('0400000700000000', 'OF_BAD_LENGTH');
    rejects('0400001000000000', 'OF_TRUNCATED');
    rejects('040000080000000000', 'OF_BAD_LENGTH');
  });

  void it('version and type', () => {
    rejects('0105000800000000', 'OF_BAD_VERSION', 'BAD_REQUEST', 'BAD_VERSION');
    rejects('041e000800000000', 'OF_BAD_TYPE', 'BAD_REQUEST', 'BAD_TYPE');
    rejects('04ff000800000000', 'OF_BAD_TYPE');
    // A HELLO is accepted in any version (the peer advertises its highest one).
    assert.equal(decode(Buffer.from('0600000800000000', 'hex')).type, 'HELLO');
  });

  void it('fixed-size bodies of the wrong size', () => {
    rejects('0405000900000000 00', 'OF_BAD_LENGTH'); // FEATURES_REQUEST with a body
    rejects('0414000c00000000 00000000', 'OF_BAD_LENGTH'); // BARRIER_REQUEST with a body
    rejects('0418000c00000000 00000000', 'OF_BAD_LENGTH'); // ROLE_REQUEST too short
    rejects('040e001000000000 0000000000000000', 'OF_BAD_LENGTH'); // FLOW_MOD truncated fixed part
  });

  void it('ofp_match: wrong type, length 0, below 4, overrunning the message', () => {
    rejects(flowModWith('00000004 00000000'), 'OF_BAD_MATCH_TYPE', 'BAD_MATCH', 'BAD_TYPE');
    rejects(flowModWith('00010000 00000000'), 'OF_BAD_MATCH_LEN', 'BAD_MATCH', 'BAD_LEN');
    rejects(flowModWith('00010003 00000000'), 'OF_BAD_MATCH_LEN');
    rejects(flowModWith('00010040 00000000'), 'OF_BAD_MATCH_LEN');
    rejects(flowModWith('000100'), 'OF_BAD_MATCH_LEN');
  });

  void it('OXM: length 0 or wrong for a known field, overrunning the match, short experimenter', () => {
    rejects(flowModWith('00010008 80000000'), 'OF_BAD_OXM_LEN', 'BAD_MATCH', 'BAD_LEN'); // in_port, length 0
    rejects(flowModWith('00010009 80000001 05 00000000000000'), 'OF_BAD_OXM_LEN'); // in_port, length 1
    rejects(flowModWith('0001000c 80000a08 08060000 00000000'), 'OF_BAD_OXM_LEN'); // eth_type, length 8 (no mask)
    rejects(flowModWith('0001000c 80000410 00000000 00000000'), 'OF_BAD_OXM_LEN'); // overruns the match
    rejects(flowModWith('00010007 ffff0002 00000000'), 'OF_BAD_OXM_LEN'); // experimenter OXM shorter than its id
    rejects(flowModWith('00010006 80000000'), 'OF_BAD_OXM_LEN'); // header cut by the match length
  });

  void it('actions: length 0, 4, not a multiple of 8, overrunning the instruction', () => {
    const apply = (actions: string): string => {
      const a = actions.replace(/\s+/g, '');
      const len = 8 + a.length / 2;
      return flowModWith(`00010004 00000000 0004${len.toString(16).padStart(4, '0')}00000000${a}`);
    };
    rejects(apply('00000000 00000000'), 'OF_BAD_ACTION_LEN', 'BAD_ACTION', 'BAD_LEN');
    rejects(apply('000b0004 00000000'), 'OF_BAD_ACTION_LEN');
    rejects(apply('000b000c 00000000 00000000 00000000'), 'OF_BAD_ACTION_LEN');
    rejects(apply('00000018 00000001 ffff0000 00000000'), 'OF_BAD_ACTION_LEN');
    rejects(apply('000b0010 00000000 00000000 00000000'), 'OF_BAD_ACTION_LEN'); // COPY_TTL_OUT must be 8
    rejects(apply('00630008 00000000'), 'OF_BAD_ACTION_TYPE', 'BAD_ACTION', 'BAD_TYPE');
    rejects(apply('00190008 80000000'), 'OF_BAD_OXM_LEN'); // SET_FIELD whose OXM length is 0
    rejects(apply('00190010 80000c0a 01020000 00000000'), 'OF_BAD_OXM_LEN'); // SET_FIELD's OXM overruns it
  });

  void it('instructions: length 0, below 8, unknown type, overrunning the message', () => {
    rejects(flowModWith('00010004 00000000 00040000 00000000'), 'OF_BAD_INSTRUCTION_LEN', 'BAD_INSTRUCTION', 'BAD_LEN');
    rejects(flowModWith('00010004 00000000 00010004 00000000'), 'OF_BAD_INSTRUCTION_LEN');
    rejects(flowModWith('00010004 00000000 00010010 01000000'), 'OF_BAD_INSTRUCTION_LEN');
    rejects(flowModWith('00010004 00000000 00630008 00000000'), 'OF_BAD_INSTRUCTION_TYPE', 'BAD_INSTRUCTION', 'UNKNOWN_INST');
    rejects(flowModWith('00010004 00000000 00010008 0100'), 'OF_BAD_INSTRUCTION_LEN');
  });

  void it('TLV lists: hello elements, buckets, meter bands, queue properties, flow stats, table features', () => {
    rejects('0400000c00000000 00010000', 'OF_BAD_TLV_LEN'); // hello element length 0
    rejects('0400001000000000 00010006 00000010', 'OF_BAD_TLV_LEN'); // bitmap not a multiple of 4
    rejects('040f002000000000 0000000000000001 0000000000000000 0000000000000000', 'OF_BAD_TLV_LEN', 'GROUP_MOD_FAILED', 'BAD_BUCKET');
    rejects('041d002000000000 0000000100000001 0001000000000000 0000000000000000', 'OF_BAD_TLV_LEN', 'METER_MOD_FAILED', 'BAD_BAND');
    rejects('0417002000000000 ffffffff00000000 0000000100000002 0000000000000000', 'OF_BAD_TLV_LEN'); // queue len 0
    rejects('0413001800000000 0001000000000000 0000000000000000', 'OF_BAD_TLV_LEN'); // flow stats length 0
    rejects('0413001800000000 000c000000000000 0000000000000000', 'OF_BAD_TLV_LEN', 'TABLE_FEATURES_FAILED', 'BAD_LEN');
    rejects('0413001000000000 0063000000000000', 'OF_BAD_MULTIPART', 'BAD_REQUEST', 'BAD_MULTIPART');
  });

  void it('a table-features property of length 0 inside a valid table (the binary-parser hang)', () => {
    const tf = Buffer.alloc(64 + 8);
    tf.writeUInt16BE(72, 0);
    tf.writeUInt16BE(0, 64); // property type INSTRUCTIONS
    tf.writeUInt16BE(0, 66); // length 0
    const msg = Buffer.concat([Buffer.from('0413000000000000000c000000000000', 'hex'), tf]);
    msg.writeUInt16BE(msg.length, 2);
    rejects(msg.toString('hex'), 'OF_BAD_TLV_LEN');
  });

  void it('bundle add-message: inner length lying, nested bundles', () => {
    const inner = '0414000800000001';
    const add = (innerHex: string): string => {
      const body = `4f4e4600000008fd 00000001 0000 0001 ${innerHex}`.replace(/\s+/g, '');
      const len = 8 + body.length / 2;
      return `0404${len.toString(16).padStart(4, '0')}00000001${body}`;
    };
    assert.equal(decode(Buffer.from(add(inner), 'hex')).type, 'BUNDLE_ADD_MESSAGE');
    rejects(add('0414000400000001'), 'OF_BAD_LENGTH');
    rejects(add('0414001000000001'), 'OF_BAD_LENGTH');
    rejects(add(add(inner)), 'OF_BAD_TYPE');
  });
});

void describe('truncation and mutation of every golden vector', () => {
  void it('every truncation with the header length fixed is OFDecodeError or a value, never another exception', () => {
    let rejected = 0;
    for (const g of golden) {
      for (let len = 8; len < g.length; len++) {
        const b = Buffer.from(g.subarray(0, len));
        b.writeUInt16BE(len, 2);
        if (decodeOrTyped(b, `truncated to ${len}`) !== 'ok') rejected++;
      }
    }
    assert.ok(rejected > 1000, `only ${rejected} truncations were rejected`);
  });

  void it('20,000 seeded random mutations decode or throw OFDecodeError', () => {
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    let rejected = 0;
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.from(golden[rand(golden.length)]!);
      const flips = 1 + rand(4);
      for (let k = 0; k < flips; k++) {
        // Bias towards small values in length-looking places: 0, 1, 4, 8 and 0xff are the classic liars.
        b[8 + rand(Math.max(1, b.length - 8))] = [0, 1, 4, 8, 0xff, rand(256)][rand(6)]!;
      }
      if (decodeOrTyped(b, `mutation ${i}`) !== 'ok') rejected++;
    }
    assert.ok(rejected > 1000, `only ${rejected} mutations were rejected`);
  });
});
