// Stream framing: a TCP stream split at any byte, many messages per chunk, lying header lengths.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OFDecodeError, OFFramer } from '../src/index.js';
import { testdataDir } from './support.js';

const packetDir = join(testdataDir, 'packet');
const messages = readdirSync(packetDir)
  .filter((f) => f.endsWith('.packet'))
  .sort()
  .map((f) => readFileSync(join(packetDir, f)));
const stream = Buffer.concat(messages);

function feed(framer: OFFramer, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}

void describe('OFFramer', () => {
  void it(`yields every message at every split point of a ${messages.length}-message, ${stream.length}-byte stream`, () => {
    for (let i = 0; i <= stream.length; i++) {
      const framer = new OFFramer();
      const out = feed(framer, [stream.subarray(0, i), stream.subarray(i)]);
      if (out.length !== messages.length || framer.buffered !== 0) assert.fail(`split at ${i}: ${out.length} messages, ${framer.buffered} buffered`);
      for (let k = 0; k < out.length; k++) {
        if (!out[k]!.equals(messages[k]!)) assert.fail(`split at ${i}: message ${k} differs`);
      }
    }
  });

  void it('yields every message when fed one byte at a time, buffering at most one partial message', () => {
    const framer = new OFFramer();
    const out: Buffer[] = [];
    const maxMsg = Math.max(...messages.map((m) => m.length));
    for (let i = 0; i < stream.length; i++) {
      out.push(...framer.push(stream.subarray(i, i + 1)));
      assert.ok(framer.buffered < maxMsg);
    }
    assert.equal(out.length, messages.length);
    assert.ok(out.every((m, k) => m.equals(messages[k]!)));
  });

  void it('yields messages split at every pair of points of a short stream', () => {
    const small = Buffer.concat(messages.filter((m) => m.length <= 64).slice(0, 6));
    const expected = messages.filter((m) => m.length <= 64).slice(0, 6);
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const out = feed(new OFFramer(), [small.subarray(0, i), small.subarray(i, j), small.subarray(j)]);
        if (out.length !== expected.length || !out.every((m, k) => m.equals(expected[k]!))) assert.fail(`split at ${i},${j}`);
      }
    }
  });

  void it('returns messages that do not alias the input chunk', () => {
    const chunk = Buffer.from(messages[0]!);
    const [m] = new OFFramer().push(chunk);
    chunk.fill(0);
    assert.ok(m!.equals(messages[0]!));
  });

  void it('rejects a header length below 8 at once, with the stream offset', () => {
    const framer = new OFFramer();
    framer.push(Buffer.from('0405000800000001', 'hex'));
    assert.throws(() => framer.push(Buffer.from('04050004', 'hex')), (e: unknown) => {
      assert.ok(e instanceof OFDecodeError);
      assert.equal(e.code, 'OF_BAD_LENGTH');
      assert.equal(e.offset, 10);
      assert.equal(e.ofpError.type, 'BAD_REQUEST');
      assert.equal(e.ofpError.code, 'BAD_LEN');
      return true;
    });
    // The stream cannot be resynchronised: later data keeps failing.
    assert.throws(() => framer.push(Buffer.from('0405000800000001', 'hex')), OFDecodeError);
  });

  void it('yields the messages before a bad header in the same chunk, then fails on the next push and at end()', () => {
    const framer = new OFFramer();
    const out = framer.push(Buffer.from('0405000800000001' + '04050004', 'hex'));
    assert.deepEqual(out.map((m) => m.toString('hex')), ['0405000800000001']);
    assert.ok(framer.error instanceof OFDecodeError);
    assert.equal(framer.error.code, 'OF_BAD_LENGTH');
    assert.equal(framer.error.offset, 10);
    assert.equal(framer.buffered, 0);
    assert.throws(() => framer.end(), { code: 'OF_BAD_LENGTH', offset: 10 });
    assert.throws(() => framer.push(Buffer.from('0405000800000002', 'hex')), { code: 'OF_BAD_LENGTH', offset: 10 });
  });

  void it('defers a bad header completed across chunks after a message that completes in the same push', () => {
    const framer = new OFFramer();
    assert.equal(framer.push(Buffer.from('040500', 'hex')).length, 0);
    // completes the first message, then a header announcing 0xffff bytes under a 1024-byte limit
    const small = new OFFramer({ maxMessageSize: 1024 });
    small.push(Buffer.from('040500', 'hex'));
    const out = small.push(Buffer.from('0800000001' + '0400ffff', 'hex'));
    assert.equal(out.length, 1);
    assert.equal(small.error?.code, 'OF_TOO_LARGE');
    assert.equal(small.error?.offset, 10);
    assert.equal(framer.end(), 3);
  });

  void it('joins a slowly dribbled 64 KiB message once, not once per chunk', () => {
    const big = Buffer.alloc(65535, 0xab);
    big.writeUInt8(4, 0);
    big.writeUInt16BE(65535, 2);
    const framer = new OFFramer();
    const concat = Buffer.concat.bind(Buffer);
    const original = Object.getOwnPropertyDescriptor(Buffer, 'concat')!;
    let copied = 0;
    Object.defineProperty(Buffer, 'concat', {
      ...original,
      value: (list: readonly Uint8Array[], total?: number): Buffer => {
        const r = concat(list, total);
        copied += r.length;
        return r;
      },
    });
    const out: Buffer[] = [];
    try {
      for (let i = 0; i < big.length; i += 16) {
        out.push(...framer.push(big.subarray(i, i + 16)));
        if (framer.buffered >= big.length) assert.fail(`buffered ${framer.buffered} bytes`);
      }
    } finally {
      Object.defineProperty(Buffer, 'concat', original);
    }
    assert.equal(out.length, 1);
    assert.ok(out[0]!.equals(big));
    assert.ok(copied <= big.length, `Buffer.concat copied ${copied} bytes for one ${big.length}-byte message`);
    assert.equal(framer.end(), 0);
  });

  void it('rejects a length of 0 before the rest of the header arrives', () => {
    assert.throws(() => new OFFramer().push(Buffer.from('04000000', 'hex')), { code: 'OF_BAD_LENGTH' });
  });

  void it('enforces the configured maximum message size', () => {
    const framer = new OFFramer({ maxMessageSize: 1024 });
    assert.throws(() => framer.push(Buffer.from('04000401', 'hex')), { code: 'OF_TOO_LARGE' });
    assert.deepEqual(new OFFramer({ maxMessageSize: 1024 }).push(Buffer.concat([Buffer.from('04000400', 'hex'), Buffer.alloc(1020)]))[0]!.length, 1024);
  });

  void it('accepts the 65535-byte protocol maximum', () => {
    const big = Buffer.alloc(65535);
    big.writeUInt8(4, 0);
    big.writeUInt16BE(65535, 2);
    const framer = new OFFramer();
    assert.equal(framer.push(big.subarray(0, 30000)).length, 0);
    const out = framer.push(big.subarray(30000));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.length, 65535);
  });
});
