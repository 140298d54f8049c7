// The codec's helpers and the encodings the agent relies on: builders, Nicira actions and fields
// (byte layouts cross-checked with `ovs-ofctl ofp-print`), the ONF bundle extension, writing many
// messages into one buffer, prerequisites, canonical keys, multipart reassembly, the JSON form.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bundleAdd, bundleControl, canonicalMatch, checkPrerequisites, decode, encode, encodeInto, flowKey, flowMod,
  fromJSON, hello, instructionsKey, matchKey, MultipartAssembler, OFDecodeError, OFEncodeError, OFFramer, toJSON,
  Writer, formatIpv6, echoReply, flowStatsRequest, checkMatch, canonicalFieldRef, errorReply, splitMultipartReply,
} from '../src/index.js';
import type { FlowStats, Instruction, Match, MultipartReplyMessage, OFMessage } from '../src/index.js';
import { plain } from './support.js';

const hex = (s: string): string => s.replace(/\s+|#[^\n]*/g, '');

void describe('builders', () => {
  void it('flowMod fills the spec defaults', () => {
    const m = flowMod({ priority: 10 });
    assert.deepStrictEqual(
      { ...m },
      {
        type: 'FLOW_MOD', xid: 0, cookie: 0n, cookieMask: 0n, tableId: 0, command: 'ADD', idleTimeout: 0, hardTimeout: 0,
        priority: 10, bufferId: 'NO_BUFFER', outPort: 'ANY', outGroup: 'ANY', flags: [], match: [], instructions: [],
      },
    );
    assert.equal(encode(m).toString('hex'), hex(`
      04 0e 0038 00000000            # header: v1.3, FLOW_MOD, length 56, xid 0
      0000000000000000 0000000000000000  # cookie, cookie_mask
      00 00 0000 0000 000a           # table 0, ADD, idle 0, hard 0, priority 10
      ffffffff ffffffff ffffffff     # buffer NO_BUFFER, out_port ANY, out_group ANY
      0000 0000                      # flags, pad
      0001 0004 00000000             # empty OXM match padded to 8
    `));
  });

  void it('hello advertises OpenFlow 1.3 in a version bitmap', () => {
    assert.equal(encode(hello(7)).toString('hex'), hex('04 00 0010 00000007  0001 0008 00000010'));
  });

  void it('decodes an ERROR in another version (a peer refusing OpenFlow 1.3) and writes it back', () => {
    const b = Buffer.from(hex('01 01 0010 00000003  0000 0000  01000008'), 'hex');
    const e = decode(b);
    assert.deepStrictEqual(plain(e), plain({ type: 'ERROR', xid: 3, errType: 'HELLO_FAILED', code: 'INCOMPATIBLE', data: Buffer.from('01000008', 'hex'), version: 1 }));
    assert.ok(encode(e).equals(b));
  });

  void it('round-trips a maximal 64 KiB version bitmap (half a million versions)', () => {
    const b = Buffer.alloc(65528, 0xff);
    b.writeUInt32BE(0x04000000 | 65528, 0);
    b.writeUInt32BE(0, 4);
    b.writeUInt32BE((1 << 16) | 65520, 8);
    const m = decode(b);
    const el = m.type === 'HELLO' ? m.elements[0] : undefined;
    assert.ok(el && el.type === 'VERSIONBITMAP');
    assert.equal(el.versions.length, (65520 - 4) * 8);
    assert.ok(encode(m).equals(b));
  });

  void it('errorReply answers an undecodable message with its OFPET/code and first 64 bytes', () => {
    const bad = Buffer.concat([Buffer.from('040e00580000abcd', 'hex'), Buffer.alloc(80)]);
    bad.writeUInt16BE(bad.length, 2);
    let err: unknown;
    try {
      decode(bad);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof OFDecodeError);
    const reply = errorReply(err, bad);
    assert.equal(reply.xid, 0xabcd);
    assert.equal(reply.errType, err.ofpError.type);
    assert.equal(reply.data.length, 64);
    const wire = encode(reply);
    assert.equal(wire.readUInt16BE(8), err.ofpError.typeValue);
    assert.equal(wire.readUInt16BE(10), err.ofpError.codeValue);
  });

  void it('echoReply copies xid and payload', () => {
    const r = echoReply({ xid: 9, data: Buffer.from('abc') });
    assert.equal(encode(r).toString('hex'), hex('04 03 000b 00000009 616263'));
  });
});

void describe('Nicira extensions', () => {
  void it('encodes NXAST_REG_MOVE, NXAST_RESUBMIT[_TABLE] and NXM fields as Open vSwitch reads them', () => {
    const m = flowMod({
      tableId: 3, priority: 100,
      match: [{ field: 'reg3', value: 7, mask: 0xff }, { field: 'tun_src', value: '192.168.1.1' }],
      instructions: [{ type: 'APPLY_ACTIONS', actions: [
        { type: 'NX_REG_MOVE', src: 'eth_src', dst: 'eth_dst', nBits: 48, srcOfs: 0, dstOfs: 0 },
        { type: 'NX_REG_MOVE', src: 'reg0', dst: 'tun_dst', nBits: 16, srcOfs: 0, dstOfs: 0 },
        { type: 'NX_RESUBMIT', port: 'IN_PORT', table: 5 },
        { type: 'NX_RESUBMIT', port: 3 },
      ] }],
    });
    // ovs-ofctl ofp-print: "priority=100,reg3=0x7/0xff,tun_src=192.168.1.1 actions=
    //   move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],move:NXM_NX_REG0[0..15]->NXM_NX_TUN_IPV4_DST[0..15],resubmit(,5),resubmit:3"
    const b = encode(m);
    assert.equal(b.subarray(48).toString('hex'), hex(`
      0001 0018                       # match OXM, length 24
      00010708 00000007 000000ff      # NXM_NX_REG3 with mask (class 1, field 3, HM, len 8)
      00013e04 c0a80101               # NXM_NX_TUN_IPV4_SRC (class 1, field 31, len 4)
      0004 0058 00000000              # APPLY_ACTIONS, length 88
      ffff 0018 00002320 0006 0030 0000 0000 80000806 80000606   # move eth_src[0..47] -> eth_dst
      ffff 0018 00002320 0006 0010 0000 0000 00010004 00014004   # move reg0[0..15] -> tun_dst[0..15]
      ffff 0010 00002320 000e fff8 05 000000                      # resubmit(IN_PORT, table 5)
      ffff 0010 00002320 0001 0003 00 000000                      # resubmit(3)
    `));
    const back = decode(b);
    assert.deepStrictEqual(plain(back), plain(m));
  });

  void it('keeps unknown Nicira subtypes and NXM headers raw', () => {
    const raw = Buffer.from(hex('ffff 0010 00002320 0063 0102 0304 0506'), 'hex');
    const m = flowMod({ instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'EXPERIMENTER', experimenter: 0x2320, data: raw.subarray(8) }] }] });
    const d = decode(encode(m));
    assert.ok(d.type === 'FLOW_MOD' && d.instructions[0]!.type === 'APPLY_ACTIONS');
    assert.deepStrictEqual(plain(d.instructions[0]!.actions), plain([{ type: 'EXPERIMENTER', experimenter: 0x2320, data: raw.subarray(8) }]));
    // A move naming a legacy NXM_OF field (class 0) keeps the header as a FieldRef object (with its name).
    const mv = flowMod({ instructions: [{ type: 'APPLY_ACTIONS', actions: [
      { type: 'NX_REG_MOVE', src: { name: 'eth_src', oxmClass: 0, oxmField: 2, length: 6 }, dst: 'eth_dst', nBits: 48, srcOfs: 0, dstOfs: 0 },
    ] }] });
    assert.deepStrictEqual(plain(decode(encode(mv))), plain(mv));
  });

  void it('keeps a SET_FIELD of a field it does not know raw (pkt_mark) and re-encodes it byte for byte', () => {
    const actions = Buffer.from(hex('0004 0018 00000000  0019 0010 00014204 0000002a 00000000'), 'hex'); // pkt_mark
    const raw = Buffer.concat([encode(flowMod({ priority: 1 })), actions]);
    raw.writeUInt16BE(raw.length, 2);
    const d = decode(raw);
    assert.ok(d.type === 'FLOW_MOD' && d.instructions[0]!.type === 'APPLY_ACTIONS');
    assert.deepStrictEqual(plain(d.instructions[0]!.actions), plain([
      { type: 'SET_FIELD', field: { field: 'raw', oxmClass: 1, oxmField: 33, hasMask: false, payload: Buffer.from('0000002a', 'hex') } },
    ]));
    assert.ok(encode(d).equals(raw));
  });

  void it('keeps unknown OXM classes raw and re-encodes them byte for byte', () => {
    const match: Match = [
      { field: 'raw', oxmClass: 0x0001, oxmField: 100, hasMask: false, payload: Buffer.from('0102', 'hex') },
      { field: 'raw', oxmClass: 0xffff, oxmField: 5, hasMask: false, experimenter: 0x00d0f0, payload: Buffer.from('aa', 'hex') },
    ];
    const b = encode(flowMod({ match }));
    assert.equal(b.subarray(48, 48 + 24).toString('hex'), hex('0001 0013  0001c802 0102  ffff0a05 0000d0f0 aa  00000000 00'));
    assert.deepStrictEqual(plain(decode(b)), plain(flowMod({ match })));
  });
});

void describe('ONF bundle extension (OpenFlow 1.3, as Open vSwitch implements it)', () => {
  void it('encodes bundle control and add-message with the ONF experimenter header', () => {
    assert.equal(encode(bundleControl(7, 'OPEN_REQUEST', ['ATOMIC'], 42)).toString('hex'), hex(`
      04 04 0018 0000002a          # EXPERIMENTER, length 24, xid 42
      4f4e4600 000008fc            # ONF, exp_type 2300 (bundle control)
      00000007 0000 0001           # bundle 7, OPEN_REQUEST, ATOMIC
    `));
    const fm = flowMod({ xid: 42, priority: 5 });
    const add = bundleAdd(7, fm);
    const b = encode(add);
    assert.equal(b.subarray(0, 24).toString('hex'), hex(`
      04 04 0050 0000002a          # EXPERIMENTER, length 80 = 24 + the 56-byte FLOW_MOD
      4f4e4600 000008fd            # ONF, exp_type 2301 (bundle add message)
      00000007 0000 0001           # bundle 7, pad, ATOMIC
    `));
    assert.ok(b.subarray(24).equals(encode(fm)));
    const d = decode(b);
    assert.ok(d.type === 'BUNDLE_ADD_MESSAGE');
    assert.deepStrictEqual(plain(d.message), plain(fm));
    assert.deepStrictEqual(plain(decode(encode(bundleControl(7, 'COMMIT_REPLY', ['ATOMIC', 'ORDERED'], 3)))), plain(bundleControl(7, 'COMMIT_REPLY', ['ATOMIC', 'ORDERED'], 3)));
  });

  void it('refuses to bundle a bundle message', () => {
    assert.throws(() => encode(bundleAdd(1, bundleControl(1, 'OPEN_REQUEST'))), OFEncodeError);
  });
});

void describe('encodeInto', () => {
  void it('writes thousands of FLOW_MODs into one growing buffer, each length back-patched', () => {
    const w = new Writer(64);
    const msgs: OFMessage[] = [];
    for (let i = 0; i < 3000; i++) {
      const m = bundleAdd(1, flowMod({
        xid: i, priority: i % 65536, cookie: BigInt(i) << 32n,
        match: [{ field: 'eth_type', value: 0x0806 }, { field: 'arp_tpa', value: `10.0.${i >> 8}.${i & 255}` }],
        instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: (i % 100) + 1, maxLen: 0 }] }],
      }));
      msgs.push(m);
      encodeInto(w, m);
    }
    const frames = new OFFramer().push(w.view());
    assert.equal(frames.length, 3000);
    for (let i = 0; i < frames.length; i += 97) assert.deepStrictEqual(plain(decode(frames[i]!)), plain(msgs[i]));
    assert.ok(frames[1234]!.equals(encode(msgs[1234]!)));
  });

  void it('encode() results stay valid across slab refills and errors', () => {
    const kept: [OFMessage, Buffer][] = [];
    for (let i = 0; i < 2000; i++) {
      const m = flowMod({ xid: i, priority: i, match: [{ field: 'in_port', value: i + 1 }] });
      kept.push([m, encode(m)]);
      if (i % 100 === 0) assert.throws(() => encode(flowMod({ priority: -1 })), OFEncodeError);
      if (i % 250 === 0) kept.push([{ type: 'ECHO_REQUEST', xid: i, data: Buffer.alloc(40000, i & 0xff) }, encode({ type: 'ECHO_REQUEST', xid: i, data: Buffer.alloc(40000, i & 0xff) })]);
    }
    for (const [m, b] of kept) assert.deepStrictEqual(plain(decode(b)), plain(m));
  });

  void it('throws OFEncodeError for values that do not fit, and for a message over 65535 bytes', () => {
    assert.throws(() => encode(flowMod({ match: [{ field: 'eth_src', value: 'not-a-mac' }] })), OFEncodeError);
    assert.throws(() => encode(flowMod({ match: [{ field: 'ipv4_src', value: '10.0.0.256' }] })), OFEncodeError);
    assert.throws(() => encode(flowMod({ match: [{ field: 'tcp_dst', value: 70000 }] })), OFEncodeError);
    // Out-of-range integers are errors, never silently truncated into another flow.
    assert.throws(() => encode(flowMod({ priority: 70000 })), /not an unsigned 16-bit integer/);
    assert.throws(() => encode(flowMod({ tableId: 300 })), OFEncodeError);
    assert.throws(() => encode(flowMod({ outPort: -1 })), OFEncodeError);
    assert.throws(() => encode({ ...flowMod(), xid: undefined as unknown as number }), OFEncodeError);
    assert.throws(() => encode(flowMod({ instructions: [{ type: 'GOTO_TABLE', tableId: 256 }] })), OFEncodeError);
    assert.throws(() => encode({ type: 'ECHO_REQUEST', xid: 1, data: Buffer.alloc(70000) }), { code: 'OF_TOO_LONG' });
    // The shared writer recovers after an error.
    assert.equal(encode({ type: 'BARRIER_REQUEST', xid: 1 }).toString('hex'), '0414000800000001');
  });
});

void describe('checkPrerequisites (spec 7.2.3.6)', () => {
  void it('accepts complete matches', () => {
    assert.deepEqual(checkPrerequisites([{ field: 'eth_type', value: 0x0806 }, { field: 'arp_tpa', value: '10.0.0.1' }]), { ok: true });
    assert.deepEqual(checkPrerequisites([
      { field: 'eth_type', value: 0x86dd }, { field: 'ip_proto', value: 6 }, { field: 'tcp_dst', value: 80 },
    ]), { ok: true });
    assert.deepEqual(checkPrerequisites([{ field: 'reg0', value: 1 }, { field: 'tun_src', value: '1.2.3.4' }]), { ok: true });
  });

  void it('says which field lacks what', () => {
    assert.deepEqual(checkPrerequisites([{ field: 'arp_tpa', value: '10.0.0.1' }]), { ok: false, field: 'arp_tpa', missing: 'eth_type=0x0806' });
    assert.deepEqual(checkPrerequisites([{ field: 'eth_type', value: 0x0800 }, { field: 'tcp_dst', value: 80 }]), { ok: false, field: 'tcp_dst', missing: 'ip_proto=6' });
    assert.deepEqual(checkPrerequisites([{ field: 'ip_proto', value: 6 }, { field: 'tcp_dst', value: 80 }]), { ok: false, field: 'ip_proto', missing: 'eth_type=0x0800|0x86dd' });
    assert.deepEqual(checkPrerequisites([{ field: 'eth_type', value: 0x86dd }, { field: 'ipv4_dst', value: '1.1.1.1' }]), { ok: false, field: 'ipv4_dst', missing: 'eth_type=0x0800' });
    // A masked prerequisite is not exact.
    assert.equal(checkPrerequisites([{ field: 'eth_type', value: 0x0806, mask: 0xff00 }, { field: 'arp_op', value: 1 }]).ok, false);
    assert.deepEqual(checkPrerequisites([{ field: 'vlan_pcp', value: 3 }]), { ok: false, field: 'vlan_pcp', missing: 'vlan_vid' });
  });
});

void describe('checkMatch', () => {
  void it('reports duplicates, value bits outside the mask, and prerequisites', () => {
    assert.deepEqual(checkMatch([{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.0.0.0' }]), { ok: true });
    assert.deepEqual(checkMatch([{ field: 'eth_type', value: 0x0800 }, { field: 'eth_type', value: 0x0800 }]),
      { ok: false, field: 'eth_type', problem: 'DUP_FIELD', detail: 'eth_type appears twice' });
    const r = checkMatch([{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: '10.0.0.1', mask: '255.0.0.0' }]);
    assert.ok(!r.ok && r.problem === 'BAD_WILDCARDS' && r.field === 'ipv4_dst');
    const p = checkMatch([{ field: 'arp_op', value: 1 }]);
    assert.ok(!p.ok && p.problem === 'BAD_PREREQ' && p.detail === 'arp_op needs eth_type=0x0806');
  });
});

void describe('canonical keys', () => {
  const sent: Match = [
    { field: 'arp_tpa', value: '10.0.0.1', mask: '255.255.255.255' },
    { field: 'eth_src', value: '02:AA:bb:00:00:01' },
    { field: 'eth_type', value: 0x0806 },
    { field: 'in_port', value: 0xfffffffe },
    { field: 'ipv6_dst', value: '2001:db8:0:0:0:0:0:1' },
    { field: 'reg1', value: 0x1234, mask: 0xff },
    { field: 'metadata', value: 5n, mask: 0n },
  ];
  const readBack: Match = [
    { field: 'in_port', value: 'LOCAL' },
    { field: 'eth_src', value: '02:aa:bb:00:00:01' },
    { field: 'eth_type', value: 2054 },
    { field: 'ipv6_dst', value: '2001:db8::1' },
    { field: 'arp_tpa', value: '10.0.0.1' },
    { field: 'reg1', value: 0x34, mask: 0xff },
  ];

  void it('canonicalMatch sorts by class/field, drops all-ones and all-zero masks, normalises values', () => {
    // Numeric class order: NXM_NX (0x0001) before OPENFLOW_BASIC (0x8000).
    assert.deepStrictEqual(canonicalMatch(sent), [
      { field: 'reg1', value: 0x34, mask: 0xff },
      { field: 'in_port', value: 'LOCAL' },
      { field: 'eth_src', value: '02:aa:bb:00:00:01' },
      { field: 'eth_type', value: 0x0806 },
      { field: 'arp_tpa', value: '10.0.0.1' },
      { field: 'ipv6_dst', value: '2001:db8::1' },
    ]);
  });

  void it('matchKey is equal for a flow as sent and as read back, different otherwise', () => {
    assert.equal(matchKey(sent), matchKey(readBack));
    assert.equal(matchKey(sent), 'reg1=52/255,in_port=LOCAL,eth_src=02:aa:bb:00:00:01,eth_type=2054,arp_tpa=10.0.0.1,ipv6_dst=2001:db8::1');
    assert.notEqual(matchKey(sent), matchKey([...readBack.slice(0, 5), { field: 'reg1', value: 0x35, mask: 0xff }]));
    assert.equal(flowKey(3, 100, sent), `3/100/${matchKey(readBack)}`);
  });

  void it('instructionsKey ignores instruction order, empty apply-actions and max_len on non-controller outputs', () => {
    const a: Instruction[] = [
      { type: 'GOTO_TABLE', tableId: 4 },
      { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 3 }, { type: 'OUTPUT', port: 'CONTROLLER' }, { type: 'NX_RESUBMIT', port: 'IN_PORT' }] },
    ];
    const b: Instruction[] = [
      { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 3, maxLen: 'NO_BUFFER' }, { type: 'OUTPUT', port: 0xfffffffd, maxLen: 0xffff }, { type: 'NX_RESUBMIT', port: 'IN_PORT', table: 255 }] },
      { type: 'GOTO_TABLE', tableId: 4 },
    ];
    assert.equal(instructionsKey(a), instructionsKey(b));
    assert.equal(instructionsKey([{ type: 'APPLY_ACTIONS', actions: [] }]), instructionsKey([]));
    // Action order inside a list matters.
    assert.notEqual(
      instructionsKey([{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 1 }, { type: 'OUTPUT', port: 2 }] }]),
      instructionsKey([{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 2 }, { type: 'OUTPUT', port: 1 }] }]),
    );
  });

  void it('instructionsKey equates a move as sent (OXM headers) and as Open vSwitch reports it (NXM headers)', () => {
    const sent: Instruction[] = [{ type: 'APPLY_ACTIONS', actions: [
      { type: 'NX_REG_MOVE', src: 'eth_src', dst: 'eth_dst', nBits: 48, srcOfs: 0, dstOfs: 0 },
      { type: 'NX_REG_MOVE', src: 'arp_sha', dst: 'arp_tha', nBits: 48, srcOfs: 0, dstOfs: 0 },
    ] }];
    // Bytes from a FLOW stats reply of ovs-vswitchd 3.1 for that flow: NXM_OF_ETH_SRC, NXM_NX_ARP_SHA...
    const fromSwitch = Buffer.from(hex(`
      0004 0038 00000000
      ffff 0018 00002320 0006 0030 0000 0000 00000406 00000206
      ffff 0018 00002320 0006 0030 0000 0000 00012206 00012406
    `), 'hex');
    const fm = flowMod({ priority: 1 });
    const raw = Buffer.concat([encode(fm), fromSwitch]);
    raw.writeUInt16BE(raw.length, 2);
    const d = decode(raw);
    assert.ok(d.type === 'FLOW_MOD');
    const mv = d.instructions[0]!.type === 'APPLY_ACTIONS' ? d.instructions[0]!.actions[0] : undefined;
    assert.deepStrictEqual(mv, { type: 'NX_REG_MOVE', nBits: 48, srcOfs: 0, dstOfs: 0, src: { name: 'eth_src', oxmClass: 0, oxmField: 2, length: 6 }, dst: { name: 'eth_dst', oxmClass: 0, oxmField: 1, length: 6 } });
    assert.equal(encode(d).toString('hex'), raw.toString('hex')); // the legacy headers go back as they came
    assert.equal(instructionsKey(d.instructions), instructionsKey(sent));
    assert.equal(canonicalFieldRef({ oxmClass: 1, oxmField: 17, length: 6 }), 'arp_sha');
    assert.deepEqual(canonicalFieldRef({ oxmClass: 0, oxmField: 4, length: 2 }), { oxmClass: 0, oxmField: 4, length: 2 }); // vlan_tci has no OXM twin
  });

  void it('names the legacy NXM headers Open vSwitch writes in a move, and re-encodes their exact bytes', () => {
    // (header as Open vSwitch 3.1 writes it, the name we expect); the class 1 ones already are OXM-named fields.
    const cases: [number, string][] = [
      [0x00000406, 'eth_src'], [0x00000206, 'eth_dst'], [0x00012206, 'arp_sha'], [0x00012406, 'arp_tha'],
      [0x00002004, 'arp_spa'], [0x00002204, 'arp_tpa'], [0x00000e04, 'ipv4_src'], [0x00001004, 'ipv4_dst'],
      [0x00012008, 'tunnel_id'], [0x00001e02, 'arp_op'], [0x00010004, 'reg0'], [0x00010e04, 'reg7'],
      [0x00013e04, 'tun_src'], [0x00014004, 'tun_dst'],
    ];
    for (const [h, name] of cases) {
      const action = Buffer.from('ffff001800002320000600200000000000000000' + '00010e04', 'hex'); // move h -> reg7
      action.writeUInt32BE(h, 16);
      const fm = Buffer.concat([encode(flowMod({ priority: 1 })), Buffer.from('0004002000000000', 'hex'), action]);
      fm.writeUInt16BE(fm.length, 2);
      const d = decode(fm);
      assert.ok(d.type === 'FLOW_MOD' && d.instructions[0]?.type === 'APPLY_ACTIONS');
      const mv = d.instructions[0].actions[0];
      assert.ok(mv?.type === 'NX_REG_MOVE');
      const got = typeof mv.src === 'string' ? mv.src : mv.src.name;
      assert.equal(got, name, `header ${h.toString(16)}`);
      assert.equal(canonicalFieldRef(mv.src), name);
      assert.equal(mv.dst, 'reg7');
      assert.equal(encode(d).toString('hex'), fm.toString('hex'), `header ${h.toString(16)} re-encodes byte for byte`);
      assert.equal(encode(fromJSON(JSON.parse(JSON.stringify(toJSON(d))))).toString('hex'), fm.toString('hex'), 'and through the JSON form');
    }
    // Masked or unknown headers stay unnamed; a wrong width is not the field.
    const unnamed = [0x00000506, 0x00000804, 0x00000405];
    for (const h of unnamed) {
      const r = { oxmClass: h >>> 16, oxmField: (h >>> 9) & 0x7f, length: h & 0xff, hasMask: ((h >>> 8) & 1) === 1 };
      assert.deepEqual(canonicalFieldRef(r.hasMask ? r : { oxmClass: r.oxmClass, oxmField: r.oxmField, length: r.length }), r.hasMask ? r : { oxmClass: r.oxmClass, oxmField: r.oxmField, length: r.length });
    }
  });

  void it('formats IPv6 per RFC 5952', () => {
    const b = (s: string): Buffer => Buffer.from(s, 'hex');
    assert.equal(formatIpv6(b('20010db8000000000000000000000001'), 0), '2001:db8::1');
    assert.equal(formatIpv6(b('20010db8000000010000000000000001'), 0), '2001:db8:0:1::1');
    assert.equal(formatIpv6(b('20010db8000000000001000000000001'), 0), '2001:db8::1:0:0:1');
    assert.equal(formatIpv6(b('20010db8000100000001000100010001'), 0), '2001:db8:1:0:1:1:1:1');
    assert.equal(formatIpv6(b('00000000000000000000000000000000'), 0), '::');
  });
});

void describe('MultipartAssembler', () => {
  const flow = (priority: number): FlowStats => ({
    tableId: 0, durationSec: 1, durationNsec: 2, priority, idleTimeout: 0, hardTimeout: 0, flags: [], cookie: 0n,
    packetCount: 0n, byteCount: 0n, match: [], instructions: [],
  });
  const part = (xid: number, more: boolean, ...prios: number[]): MultipartReplyMessage =>
    ({ type: 'MULTIPART_REPLY', xid, mpType: 'FLOW', flags: more ? ['REPLY_MORE'] : [], body: prios.map(flow) });

  void it('joins REPLY_MORE parts by xid, interleaved', () => {
    const asm = new MultipartAssembler();
    assert.equal(asm.push(part(1, true, 1, 2)), null);
    assert.equal(asm.push(part(2, true, 10)), null);
    assert.equal(asm.push(part(1, true, 3)), null);
    const two = asm.push(part(2, false, 11));
    const one = asm.push(part(1, false, 4));
    assert.ok(one && one.mpType === 'FLOW' && two && two.mpType === 'FLOW');
    assert.deepEqual(one.body.map((f) => f.priority), [1, 2, 3, 4]);
    assert.deepEqual(two.body.map((f) => f.priority), [10, 11]);
    assert.deepEqual(one.flags, []);
    assert.deepEqual(asm.pendingXids, []);
  });

  void it('joins decoded wire messages', () => {
    const asm = new MultipartAssembler();
    const wire = [part(5, true, 1), part(5, false, 2)].map((m) => decode(encode(m)));
    assert.equal(asm.push(wire[0] as MultipartReplyMessage), null);
    const r = asm.push(wire[1] as MultipartReplyMessage);
    assert.ok(r && r.mpType === 'FLOW');
    assert.equal(r.body.length, 2);
  });

  void it('splitMultipartReply cuts 1000 flows into REPLY_MORE parts under 64 KiB that reassemble', () => {
    const flows = Array.from({ length: 1000 }, (_, i) => ({
      ...flow(i),
      match: [{ field: 'eth_type', value: 0x0806 }, { field: 'arp_tpa', value: `10.0.${i >> 8}.${i & 255}` }] as Match,
      instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 1, maxLen: 0 }] }] as Instruction[],
    }));
    const parts = splitMultipartReply({ type: 'MULTIPART_REPLY', xid: 9, mpType: 'FLOW', flags: [], body: flows });
    assert.ok(parts.length >= 2);
    const wire = parts.map((p) => encode(p));
    assert.ok(wire.every((b) => b.length <= 0xffff));
    assert.deepEqual(parts.map((p) => p.flags.length), [...parts.slice(1).map(() => 1), 0]);
    const asm = new MultipartAssembler();
    let whole: MultipartReplyMessage | null = null;
    for (const b of wire) whole = asm.push(decode(b) as MultipartReplyMessage);
    assert.ok(whole && whole.mpType === 'FLOW');
    assert.deepStrictEqual(plain(whole.body), plain(flows));
  });

  void it('rejects a type change within one xid and a split non-list reply', () => {
    const asm = new MultipartAssembler();
    asm.push(part(1, true, 1));
    assert.throws(() => asm.push({ type: 'MULTIPART_REPLY', xid: 1, mpType: 'PORT_DESC', flags: [], body: [] }), OFDecodeError);
    assert.throws(() => asm.push({ type: 'MULTIPART_REPLY', xid: 2, mpType: 'DESC', flags: ['REPLY_MORE'], body: { mfrDesc: '', hwDesc: '', swDesc: '', serialNum: '', dpDesc: '' } }), { code: 'OF_BAD_MULTIPART' });
    const small = new MultipartAssembler({ maxEntries: 3 });
    small.push(part(1, true, 1, 2));
    assert.throws(() => small.push(part(1, true, 3, 4)), OFDecodeError);
  });
});

void describe('JSON form', () => {
  void it('writes bigint as decimal strings and bytes as hex, and reads them back', () => {
    const m = flowMod({ cookie: 0xfedcba9876543210n, match: [{ field: 'metadata', value: 0xffffffffffffffffn, mask: 1n }, { field: 'tunnel_id', value: 7n }] });
    const j = toJSON(m);
    assert.equal(j.cookie, '18364758544493064720');
    assert.deepEqual(j.match, [{ field: 'metadata', value: '18446744073709551615', mask: '1' }, { field: 'tunnel_id', value: '7' }]);
    const back = fromJSON(JSON.parse(JSON.stringify(j)));
    assert.deepStrictEqual(back, m);
    const echo = toJSON({ type: 'ECHO_REQUEST', xid: 1, data: Buffer.from([0xde, 0xad]) });
    assert.equal(echo.data, 'dead');
    assert.ok(encode(fromJSON(echo)).equals(Buffer.from('0402000a00000001dead', 'hex')));
    assert.throws(() => fromJSON({ ...j, cookie: '12abc' }), OFEncodeError);
    assert.throws(() => fromJSON({ type: 'ECHO_REQUEST', xid: 1, data: 'xyz' }), OFEncodeError);
    assert.throws(() => encode(fromJSON({ type: 'NOPE', xid: 1 })), OFEncodeError);
    const req = fromJSON(toJSON(flowStatsRequest({ cookie: 5n, cookieMask: 0xffn })));
    assert.ok(req.type === 'MULTIPART_REQUEST' && req.mpType === 'FLOW');
    assert.equal(req.body.cookie, 5n);
  });

  void it('names the missing or invalid field of a JSON message instead of leaking JavaScript errors', () => {
    const j = toJSON(flowMod({ instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 1 }] }] }));
    const without = (k: string): unknown => Object.fromEntries(Object.entries(j).filter(([key]) => key !== k));
    const fails = (obj: unknown, code: string, message: string): void => {
      assert.throws(() => encode(fromJSON(obj)), (e: unknown) => {
        assert.ok(e instanceof OFEncodeError);
        assert.equal(e.code, code);
        assert.equal(e.message, `${code}: ${message}`);
        return true;
      });
    };
    for (const k of ['cookie', 'cookieMask', 'priority', 'tableId', 'command', 'flags', 'match', 'instructions', 'xid', 'bufferId']) {
      fails(without(k), 'OF_MISSING_FIELD', `FLOW_MOD.${k}: missing`);
    }
    const deep = JSON.parse(JSON.stringify(j)) as { instructions: { actions: Record<string, unknown>[] }[] };
    delete deep.instructions[0]!.actions[0]!.port;
    fails(deep, 'OF_MISSING_FIELD', 'FLOW_MOD.instructions[0].actions[0].port: missing');
    fails({ ...j, cookie: {} }, 'OF_BAD_VALUE', 'FLOW_MOD.cookie: invalid value {}');
    fails({ ...j, priority: 70000 }, 'OF_BAD_VALUE', 'FLOW_MOD.priority: 70000 is not an unsigned 16-bit integer');
    assert.throws(() => fromJSON({ ...j, cookie: true }), { code: 'OF_BAD_VALUE', message: /cookie: expected a 64-bit value/ });
    fails({ type: 'ECHO_REQUEST', xid: 1 }, 'OF_MISSING_FIELD', 'ECHO_REQUEST.data: missing');
  });
});
