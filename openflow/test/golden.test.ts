// Golden vectors (mqtt-packet test.js style): every packet in testdata/of13/packet is
//  1. parsed:    decode(bytes) equals the expected decoding in json/ (Ryu's names mapped),
//  2. generated: encode(expected message, which carries no length fields) gives the same bytes,
//  3. round trip: encode(decode(bytes)) gives the same bytes,
//  4. streamed:  the bytes fed to OFFramer in pieces yield the same message.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decode, encode, fromJSON, OFFramer, toJSON } from '../src/index.js';
import { parseJsonBig, plain, ryuToMessage, testdataDir } from './support.js';

const packetDir = join(testdataDir, 'packet');
const files = readdirSync(packetDir)
  .filter((f) => f.endsWith('.packet'))
  .sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));

void describe('golden vectors', () => {
  void it('has all 64 vectors', () => {
    assert.equal(files.length, 64);
  });

  for (const file of files) {
    void describe(file, () => {
      const bytes = readFileSync(join(packetDir, file));
      const json = parseJsonBig(readFileSync(join(testdataDir, 'json', `${file}.json`), 'utf8'));
      const expected = ryuToMessage(json, bytes.readUInt32BE(4));

      void it('parses to the expected values', () => {
        assert.deepStrictEqual(plain(decode(bytes)), plain(expected));
      });

      void it('generates the same bytes from the expected message (lengths computed by the encoder)', () => {
        assert.equal(encode(expected).toString('hex'), bytes.toString('hex'));
      });

      void it('round-trips byte for byte', () => {
        assert.equal(encode(decode(bytes)).toString('hex'), bytes.toString('hex'));
      });

      void it('round-trips through the JSON form', () => {
        const text = JSON.stringify(toJSON(decode(bytes)));
        assert.equal(encode(fromJSON(JSON.parse(text))).toString('hex'), bytes.toString('hex'));
      });

      void it('decodes the same when streamed in pieces', () => {
        for (const piece of [1, 3, 7, 64]) {
          const framer = new OFFramer();
          const out: Buffer[] = [];
          for (let i = 0; i < bytes.length; i += piece) out.push(...framer.push(bytes.subarray(i, i + piece)));
          assert.equal(out.length, 1);
          assert.equal(framer.buffered, 0);
          assert.deepStrictEqual(plain(decode(out[0]!)), plain(expected));
        }
      });
    });
  }
});

void describe('decoded values', () => {
  const read = (name: string): Buffer => readFileSync(join(packetDir, files.find((f) => f.includes(name))!));

  void it('names reserved ports, buffers and the controller max_len', () => {
    const m = decode(read('-12-ofp_flow_stats_reply'));
    assert.equal(m.type, 'MULTIPART_REPLY');
    assert.ok(m.type === 'MULTIPART_REPLY' && m.mpType === 'FLOW');
    const ins = m.body[1]!.instructions[0]!;
    assert.ok(ins.type === 'APPLY_ACTIONS');
    assert.deepStrictEqual(ins.actions[0], { type: 'OUTPUT', port: 'NORMAL', maxLen: 0 });
    const fm = decode(read('-2-ofp_flow_mod'));
    assert.ok(fm.type === 'FLOW_MOD');
    assert.equal(fm.bufferId, 0xffff);
    assert.equal(fm.outPort, 'ANY');
    assert.equal(fm.outGroup, 'ANY');
  });

  void it('keeps 64-bit values exact', () => {
    const m = decode(read('-4-ofp_packet_in'));
    assert.ok(m.type === 'PACKET_IN');
    assert.equal(m.cookie, 0x1020300000000n);
    const f = decode(read('-6-ofp_features_reply'));
    assert.ok(f.type === 'FEATURES_REPLY');
    assert.equal(f.datapathId, 0x860_6e7f74e7n);
  });

  void it('keeps an unknown experimenter action byte for byte', () => {
    const m = decode(read('-2-ofp_flow_mod'));
    assert.ok(m.type === 'FLOW_MOD');
    const ins = m.instructions[0]!;
    assert.ok(ins.type === 'WRITE_ACTIONS');
    const exp = ins.actions.find((a) => a.type === 'EXPERIMENTER');
    assert.ok(exp && exp.type === 'EXPERIMENTER');
    assert.equal(exp.experimenter, 101);
    assert.equal(Buffer.from(exp.data).toString('hex'), '0001020304050607');
  });
});
