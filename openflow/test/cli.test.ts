// The `ofp` command, run as a process (bin/ofp.js over the compiled dist/): decode of binary, hex and
// pcap input, encode back to bytes, exit codes and error locations on malformed input, and `npx ofp`
// from the repository root.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decode, encode, echoRequest, flowMod, hello, OFDecodeError, toJSON } from '../src/index.js';
import type { OFMessage } from '../src/index.js';
import { arpResponder, packetIn, samples } from './samples.js';
import { repoRoot, testdataDir } from './support.js';

const bin = join(repoRoot, 'openflow/bin/ofp.js');
const built = existsSync(join(repoRoot, 'openflow/dist/cli/ofp.js'));
const dir = mkdtempSync(join(tmpdir(), 'ofp-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run { status: number | null; stdout: Buffer; stderr: string; text: string }

function ofp(args: string[], input?: Buffer | string): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { input, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString(), text: r.stdout.toString() };
}

const lines = (r: Run): unknown[] => r.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
const asJson = (m: OFMessage): unknown => JSON.parse(JSON.stringify(toJSON(m))) as unknown;
const golden = (n: number): Buffer => readFileSync(join(testdataDir, 'packet', `4-${n}-${{ 2: 'ofp_flow_mod', 4: 'ofp_packet_in', 12: 'ofp_flow_stats_reply', 10: 'ofp_hello' }[n]}.packet`));

/** Wire bytes as hex with a comment per message and whitespace inside, the way people paste them. */
function hexText(bufs: Buffer[]): string {
  return bufs.map((b, i) => `# message ${i}\n0x${b.subarray(0, 4).toString('hex')} ${b.subarray(4, 8).toString('hex')} // header\n${b.subarray(8).toString('hex').replace(/(.{32})/g, '$1\n')}\n`).join('');
}

void describe('ofp command', { skip: built ? false : 'openflow/dist is not built: run npm run build -w node-openflow' }, () => {
  const msgs = [golden(2), golden(4), golden(12), encode(arpResponder(7))];
  const stream = Buffer.concat(msgs);
  const expected = msgs.map((b) => asJson(decode(b)));

  void it('decodes a binary file to one JSON object per message, bigint as decimal strings', () => {
    const file = join(dir, 'msgs.bin');
    writeFileSync(file, stream);
    const r = ofp(['decode', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(lines(r), expected);
    assert.match(r.text, /"cookie":"9223372041149743146"/); // 0x800000010000002a
  });

  void it('decodes standard input', () => {
    const r = ofp(['decode', '-'], stream);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(lines(r), expected);
  });

  void it('decodes hex text with comments, 0x prefixes and line breaks anywhere', () => {
    const r = ofp(['decode', '--hex'], hexText(msgs));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(lines(r), expected);
  });

  void it('encodes its own output back to the same bytes (stdout, -o FILE, --hex)', () => {
    const json = ofp(['decode', '-'], stream).text;
    const out = ofp(['encode', '-'], json);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.toString('hex'), stream.toString('hex'));
    const file = join(dir, 'out.bin');
    assert.equal(ofp(['encode', '-o', file], json).status, 0);
    assert.equal(readFileSync(file).toString('hex'), stream.toString('hex'));
    const hex = ofp(['encode', '--hex'], json);
    assert.deepEqual(hex.text.trim().split('\n'), msgs.map((b) => b.toString('hex')));
  });

  void it('round-trips every sample message kind through decode and encode', () => {
    const all = [...samples().values()].map((m) => encode(m));
    const json = ofp(['decode'], Buffer.concat(all));
    assert.equal(json.status, 0, json.stderr);
    assert.equal(lines(json).length, all.length);
    const back = ofp(['encode'], json.text);
    assert.equal(back.status, 0, back.stderr);
    assert.equal(back.stdout.toString('hex'), Buffer.concat(all).toString('hex'));
  });

  void it('fails on a message cut short, with the code and the stream offset', () => {
    const cut = stream.subarray(0, msgs[0]!.length + 20);
    const r = ofp(['decode'], cut);
    assert.equal(r.status, 1);
    assert.deepEqual(lines(r), [expected[0]]); // what came before the error is still printed
    assert.match(r.stderr, new RegExp(`OF_TRUNCATED at byte ${msgs[0]!.length}: input ends inside a message: 20 bytes`));
  });

  void it('prints every message before a bad header in the same chunk, then fails at the header', () => {
    const r = ofp(['decode'], Buffer.from('0405000800000001' + '04050004', 'hex'));
    assert.equal(r.status, 1);
    assert.deepEqual(lines(r), [{ type: 'FEATURES_REQUEST', xid: 1 }]);
    assert.match(r.stderr, /OF_BAD_LENGTH at byte 10: header length 4 < 8/);
  });

  void it('fails on a lying TLV length, naming the error code and its byte in the stream', () => {
    const bad = encode(flowMod({ match: [{ field: 'eth_type', value: 0x0806 }] }));
    bad[bad.length - 9] = 0xff; // OXM length of eth_type (match: type, length, header, value, pad 6): 255 overruns the match
    let inner: OFDecodeError | undefined;
    try {
      decode(bad);
    } catch (e) {
      inner = e as OFDecodeError;
    }
    assert.ok(inner instanceof OFDecodeError);
    const r = ofp(['decode'], Buffer.concat([msgs[1]!, bad]));
    assert.equal(r.status, 1);
    assert.equal(lines(r).length, 1);
    assert.match(r.stderr, new RegExp(`${inner.code} at byte ${msgs[1]!.length + inner.offset} \\(offset ${inner.offset} in the message at byte ${msgs[1]!.length}\\)`));
    assert.match(r.stderr, /BAD_MATCH\/BAD_LEN/);
  });

  void it('fails on a header length below 8 and on bad hex, with where', () => {
    const r = ofp(['decode'], Buffer.from('0400000400000001', 'hex'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /OF_BAD_LENGTH at byte 2/);
    const h = ofp(['decode', '--hex'], '04 00 00 08\n00 00 zz 01\n');
    assert.equal(h.status, 1);
    assert.match(h.stderr, /HEX_BAD_CHAR at line 2 column 7/);
  });

  void it('fails on bad JSON lines with the line number and the encoder error', () => {
    const good = JSON.stringify(toJSON(hello(1)));
    const syntax = ofp(['encode', '--hex'], `${good}\n{"type":\n`);
    assert.equal(syntax.status, 1);
    assert.match(syntax.stderr, /JSON_SYNTAX at line 2/);
    const value = ofp(['encode', '--hex'], `${good}\n\n${JSON.stringify({ ...toJSON(flowMod()), priority: 70000 })}\n`);
    assert.equal(value.status, 1);
    assert.match(value.stderr, /OF_BAD_VALUE at line 3: .*70000/);
    const missing = ofp(['encode', '--hex'], '{"type":"FLOW_MOD","xid":1,"tableId":0,"command":"ADD"}\n');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^ofp encode: OF_MISSING_FIELD at line 1: FLOW_MOD\.cookie: missing\n$/);
    assert.doesNotMatch(missing.stderr, /BigInt/);
    const kind = ofp(['encode', '--hex'], '{"type":"NO_SUCH","xid":1}\n');
    assert.equal(kind.status, 1);
    assert.match(kind.stderr, /at line 1: .*NO_SUCH/);
  });

  void it('exits 2 with usage on bad arguments', () => {
    for (const args of [[], ['frobnicate'], ['decode', '--hex', '--pcap'], ['decode', '--nope'], ['decode', join(dir, 'missing.bin')]]) {
      const r = ofp(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.length > 0);
    }
    const help = ofp(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.text, /ofp decode \[FILE\|-\]|decode \[FILE\|-\]/);
  });

  void it('runs as `npx ofp` from the repository root (the workspace links the bin)', () => {
    const r = spawnSync('npx', ['--no-install', 'ofp', 'decode', '--hex'], { cwd: repoRoot, input: msgs[0]!.toString('hex'), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout) as unknown, expected[0]);
  });
});

// ---------------------------------------------------------------------------------------------
// pcap: captures built byte by byte here (so every corner is certain), and one real capture.

function pcapFile(linkType: number, frames: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16);
  head.writeUInt32LE(linkType, 20);
  const recs = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(i * 1000, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([head, ...recs]);
}

function tcp(sport: number, dport: number, seq: number, payload: Buffer, flags = 0x18): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(sport, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(65535, 14);
  return Buffer.concat([t, payload]);
}

function ipv4(src: string, dst: string, seg: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + seg.length, 2);
  h[8] = 64;
  h[9] = 6;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  return Buffer.concat([h, seg]);
}

function ipv6(src: number, dst: number, seg: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(seg.length, 4);
  h[6] = 6;
  h[7] = 64;
  h.writeUInt16BE(0xfd00, 8);
  h[23] = src;
  h.writeUInt16BE(0xfd00, 24);
  h[39] = dst;
  return Buffer.concat([h, seg]);
}

function ether(ip: Buffer, etherType = 0x0800, vlan?: number): Buffer {
  const macs = Buffer.from('020000000002020000000001', 'hex');
  const tag = vlan === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, vlan >> 8, vlan & 0xff]);
  const et = Buffer.alloc(2);
  et.writeUInt16BE(etherType);
  const frame = Buffer.concat([macs, tag, et, ip]);
  // Ethernet pads short frames to 60 bytes: the parser must trust the IP length, not the frame.
  return frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length, 0xee)]) : frame;
}

function sll(ip: Buffer, proto: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(4, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  h.writeUInt16BE(proto, 14);
  return Buffer.concat([h, ip]);
}

void describe('ofp decode --pcap', { skip: built ? false : 'openflow/dist is not built: run npm run build -w node-openflow' }, () => {
  const c2s = [hello(1), arpResponder(2), echoRequest(3, Buffer.from('ping'))].map((m) => encode(m));
  const s2c = [encode(hello(9)), encode(packetIn(10))];
  const up = Buffer.concat(c2s);
  const down = Buffer.concat(s2c);
  const ISN_C = 0xfffffff0; // wraps past 2^32 inside the stream
  const ISN_S = 1000;
  const C = ['10.0.0.2', 40000] as const;
  const S = ['10.0.0.1', 6653] as const;
  const cseg = (from: number, to: number): Buffer => ether(ipv4(C[0], S[0], tcp(C[1], S[1], ISN_C + 1 + from, up.subarray(from, to))), 0x0800, 100);
  const sseg = (from: number, to: number): Buffer => ether(ipv4(S[0], C[0], tcp(S[1], C[1], ISN_S + 1 + from, down.subarray(from, to))));

  void it('reassembles each direction by sequence number: reordering, retransmits, overlaps, seq wrap, padding', () => {
    const frames = [
      ether(ipv4(C[0], S[0], tcp(C[1], S[1], ISN_C, Buffer.alloc(0), 0x02)), 0x0800, 100), // SYN
      ether(ipv4(S[0], C[0], tcp(S[1], C[1], ISN_S, Buffer.alloc(0), 0x12))), // SYN-ACK
      cseg(0, 5), // the HELLO split
      sseg(0, down.length), // the switch side, whole
      cseg(30, 100), // out of order: arrives before 5..30
      cseg(5, 30),
      cseg(5, 30), // retransmit
      cseg(90, up.length), // overlaps what came before
      ether(ipv4(C[0], '10.0.0.9', tcp(C[1], 80, 1, Buffer.from('GET / HTTP/1.0\r\n\r\n')))), // not OpenFlow
    ];
    const file = join(dir, 'session.pcap');
    writeFileSync(file, pcapFile(1, frames));
    const r = ofp(['decode', '--pcap', file]);
    assert.equal(r.status, 0, r.stderr);
    const got = lines(r) as { type: string; xid: number; _capture: { src: string; dst: string; time: string } }[];
    assert.deepEqual(got.map((m) => `${m._capture.src}>${m._capture.dst} ${m.type} ${m.xid}`), [
      '10.0.0.1:6653>10.0.0.2:40000 HELLO 9',
      '10.0.0.1:6653>10.0.0.2:40000 PACKET_IN 10',
      '10.0.0.2:40000>10.0.0.1:6653 HELLO 1',
      '10.0.0.2:40000>10.0.0.1:6653 FLOW_MOD 2',
      '10.0.0.2:40000>10.0.0.1:6653 ECHO_REQUEST 3',
    ]);
    const { _capture, ...flow } = got[3]!;
    assert.deepEqual(flow, asJson(decode(encode(arpResponder(2)))));
    // Completed by frame 7 (stamped 1_700_000_007 s + 7 ms).
    assert.equal(_capture.time, new Date((1_700_000_000 + 7) * 1000 + 7).toISOString());
    // decode --pcap output encodes back (the _capture field is ignored).
    const back = ofp(['encode'], r.text);
    assert.equal(back.status, 0, back.stderr);
    assert.equal(back.stdout.toString('hex'), Buffer.concat([down, up]).toString('hex'));
  });

  void it('reads IPv6 in Linux cooked captures, and takes the port from --port', () => {
    const payload = encode(flowMod({ xid: 77, priority: 9 }));
    const frames = [
      sll(ipv6(2, 1, tcp(50000, 16633, 5000, payload.subarray(0, 10))), 0x86dd),
      sll(ipv6(2, 1, tcp(50000, 16633, 5010, payload.subarray(10))), 0x86dd),
    ];
    const file = join(dir, 'v6.pcap');
    writeFileSync(file, pcapFile(113, frames));
    const none = ofp(['decode', '--pcap', file]);
    assert.equal(none.status, 0);
    assert.equal(none.text, '');
    assert.match(none.stderr, /no TCP payload on port 6653 or 6633.*--port/);
    const r = ofp(['decode', '--pcap', '--port', '16633', file]);
    assert.equal(r.status, 0, r.stderr);
    const [m] = lines(r) as { type: string; xid: number; _capture: { src: string } }[];
    assert.equal(m?.type, 'FLOW_MOD');
    assert.equal(m?.xid, 77);
    assert.equal(m?._capture.src, '[fd00::2]:50000');
  });

  void it('fails on a segment missing from the capture, and on a file that is not pcap', () => {
    const file = join(dir, 'gap.pcap');
    writeFileSync(file, pcapFile(1, [cseg(0, 5), cseg(30, up.length)]));
    const r = ofp(['decode', '--pcap', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PCAP_TCP_GAP at 10\.0\.0\.2:40000 -> 10\.0\.0\.1:6653, stream byte 5: \d+ bytes arrived after a segment that is missing/);
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, Buffer.from('this is not a capture at all'));
    const j = ofp(['decode', '--pcap', junk]);
    assert.equal(j.status, 1);
    assert.match(j.stderr, /PCAP_FORMAT at capture byte 0: not a pcap file/);
  });

  void it('warns about a stream that ends inside a message (peer closed mid-message) and exits 0, or 1 with --strict', () => {
    const cut = 40; // inside the FLOW_MOD that follows the 16-byte HELLO
    const file = join(dir, 'tail.pcap');
    writeFileSync(file, pcapFile(1, [cseg(0, cut), sseg(0, down.length)]));
    const r = ofp(['decode', '--pcap', file]);
    assert.equal(r.status, 0, r.stderr);
    const got = lines(r) as { type: string; _capture: { src: string } }[];
    assert.deepEqual(got.map((m) => `${m._capture.src} ${m.type}`), ['10.0.0.2:40000 HELLO', '10.0.0.1:6653 HELLO', '10.0.0.1:6653 PACKET_IN']);
    assert.match(r.stderr, new RegExp(`warning: 10\\.0\\.0\\.2:40000 -> 10\\.0\\.0\\.1:6653 ends inside a message: ${cut - 16} bytes of it arrived \\(at stream byte 16\\)`));
    assert.doesNotMatch(r.stderr, /10\.0\.0\.1:6653 -> /); // the complete direction is not reported
    const strict = ofp(['decode', '--pcap', '--strict', file]);
    assert.equal(strict.status, 1);
    assert.equal(lines(strict).length, 3);
    assert.match(strict.stderr, new RegExp(`OF_TRUNCATED at 10\\.0\\.0\\.2:40000 -> 10\\.0\\.0\\.1:6653, stream byte 16: input ends inside a message: ${cut - 16} bytes`));
    assert.equal(ofp(['decode', '--strict', file]).status, 2); // --strict belongs to --pcap
  });

  const canCapture = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v tcpdump'], { stdio: 'ignore' }).status === 0;
  void it('decodes a real tcpdump capture of an OpenFlow session on loopback', { skip: canCapture ? false : 'needs root and tcpdump', timeout: 30_000 }, async () => {
    const server = createServer((sock: Socket) => {
      sock.write(encode(hello(50)));
      sock.on('data', () => {
        sock.end(encode(packetIn(51)));
      });
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as AddressInfo).port;
    const file = join(dir, 'real.pcap');
    // --immediate-mode: without it packets wait in the kernel ring and a SIGINT'd tcpdump may never write them.
    const dump = spawn('tcpdump', ['-Z', 'root', '-i', 'lo', '-U', '--immediate-mode', '-s', '0', '-w', file, `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error('tcpdump did not start listening')), 10_000);
        dump.stderr.on('data', (d: Buffer) => {
          if (d.toString().includes('listening on')) {
            clearTimeout(t);
            res();
          }
        });
      });
      await new Promise<void>((res, rej) => {
        const c = connect(port, '127.0.0.1', () => {
          c.write(Buffer.concat([encode(hello(1)), encode(arpResponder(2))]));
        });
        c.on('data', () => undefined);
        c.on('end', () => {
          c.end();
          res();
        });
        c.on('error', rej);
      });
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      dump.kill('SIGINT');
      await new Promise((r) => dump.once('exit', r));
      server.close();
    }
    const r = ofp(['decode', '--pcap', '--port', String(port), file]);
    assert.equal(r.status, 0, r.stderr);
    const got = (lines(r) as { type: string; xid: number }[]).map((m) => `${m.type} ${m.xid}`).sort();
    assert.deepEqual(got, ['FLOW_MOD 2', 'HELLO 1', 'HELLO 50', 'PACKET_IN 51'], `${r.stderr}\n${spawnSync('tcpdump', ['-nr', file]).stdout.toString()}`);
  });
});
