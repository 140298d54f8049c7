// SET_FIELD of a field the codec does not know (Open vSwitch's pkt_mark, reg8-15, ct_mark, any
// experimenter OXM) decodes to an OxmRaw and re-encodes byte for byte: a foreign flow on the bridge
// must not make a FLOW stats reply undecodable. The bytes come from Open vSwitch itself: ovs-ofctl
// add-flow talks to a small fake switch on a unix socket made here (no root, no ovs-vswitchd), and a
// copy captured from Open vSwitch 3.1 is kept below so the decoding is checked without it too.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  canonicalMatch, decode, encode, errorReply, flowKey, flowMod, fromJSON, hello, instructionsKey, OFFramer, toJSON,
} from '../src/index.js';
import type { Action, FlowModMessage, OFMessage, OxmRaw } from '../src/index.js';
import { plain } from './support.js';

const FOREIGN_FLOW = 'table=3,priority=7,ip,pkt_mark=3,reg8=9,ct_mark=0x10,actions=set_field:5->pkt_mark,set_field:0x1234->reg8,'
  + 'set_field:0x5/0xff->pkt_mark,set_field:3->reg15,ct(commit,exec(set_field:7->ct_mark))';

/** The FLOW_MOD `ovs-ofctl -O OpenFlow13 add-flow` (Open vSwitch 3.1.0) sends for FOREIGN_FLOW. */
const CAPTURED = '040e00d000000002000000000000000000000000000000000300000000000007ffffffffffffffffffffffff000000000001002280000a02'
  + '0800000110040000000900014204000000030001d6040000001000000000000000040078000000000019001000014204000000050000000000'
  + '190010000110040000123400000000ffff001800002320000700070001420400000000000000050019001000011e040000000300000000ffff'
  + '00280000232000230001000000000000ff0000000000001900100001d6040000000700000000';

const nx = (oxmField: number, value: string): OxmRaw => ({ field: 'raw', oxmClass: 1, oxmField, hasMask: false, payload: Buffer.from(value, 'hex') });

function actionsOf(m: OFMessage): Action[] {
  assert.ok(m.type === 'FLOW_MOD', m.type);
  const apply = m.instructions.find((i) => i.type === 'APPLY_ACTIONS');
  assert.ok(apply && apply.type === 'APPLY_ACTIONS');
  return apply.actions;
}

function checkForeignFlow(bytes: Buffer): void {
  const m = decode(bytes);
  assert.ok(m.type === 'FLOW_MOD');
  assert.equal(m.tableId, 3);
  assert.equal(m.priority, 7);
  // NXM_NX_REG8 (1:8), NXM_NX_PKT_MARK (1:33), NXM_NX_CT_MARK (1:107): meta-flow.h.
  assert.deepStrictEqual(plain(m.match), plain([{ field: 'eth_type', value: 0x0800 }, nx(8, '00000009'), nx(33, '00000003'), nx(107, '00000010')]));
  const actions = actionsOf(m);
  assert.deepStrictEqual(plain(actions.filter((a) => a.type === 'SET_FIELD')), plain([
    { type: 'SET_FIELD', field: nx(33, '00000005') },
    { type: 'SET_FIELD', field: nx(8, '00001234') },
    { type: 'SET_FIELD', field: nx(15, '00000003') },
  ]));
  // The masked set_field is NXAST_REG_LOAD2 and ct() is NXAST_CT (with ct_mark inside): raw Nicira actions.
  assert.deepStrictEqual(actions.map((a) => a.type), ['SET_FIELD', 'SET_FIELD', 'EXPERIMENTER', 'SET_FIELD', 'EXPERIMENTER']);
  assert.equal(encode(m).toString('hex'), bytes.toString('hex'));
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Runs `ovs-ofctl add-flow` against a fake OpenFlow 1.3 switch on a unix socket and returns the
 * FLOW_MOD it sent. The fake answers HELLO, refuses the table-features request ovs-ofctl may send,
 * and answers the barrier that ends add-flow.
 */
async function ovsFlowMod(flow: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'of-rawset-'));
  const path = join(dir, 'sw.sock');
  const got: Buffer[] = [];
  const server = createServer((s) => {
    const framer = new OFFramer();
    s.write(encode(hello(1)));
    s.on('error', () => s.destroy());
    s.on('data', (chunk) => {
      for (const raw of framer.push(chunk)) {
        const m = decode(raw);
        got.push(raw);
        if (m.type === 'BARRIER_REQUEST') s.write(encode({ type: 'BARRIER_REPLY', xid: m.xid }));
        else if (m.type === 'ECHO_REQUEST') s.write(encode({ type: 'ECHO_REPLY', xid: m.xid, data: m.data }));
        else if (m.type === 'MULTIPART_REQUEST') s.write(encode(errorReply({ ofpError: { type: 'BAD_REQUEST', code: 'BAD_MULTIPART' } }, raw)));
      }
    });
  });
  try {
    await new Promise<void>((resolve, reject) => server.listen(path, resolve).once('error', reject));
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const p = spawn('ovs-ofctl', ['-O', 'OpenFlow13', '--no-names', 'add-flow', `unix:${path}`, flow], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => p.kill(), 10_000);
      p.on('error', reject);
      p.on('exit', (code) => { clearTimeout(t); resolve({ code, stderr }); });
    });
    assert.equal(r.code, 0, r.stderr);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const fm = got.find((b) => b[1] === 14);
  assert.ok(fm, `ovs-ofctl sent no FLOW_MOD (got types ${got.map((b) => b[1]).join(',')})`);
  return fm;
}

void describe('SET_FIELD of fields the codec does not know', () => {
  void it('decodes the FLOW_MOD Open vSwitch 3.1 wrote for pkt_mark, reg8, reg15 and ct_mark, and re-encodes it byte for byte', () => {
    checkForeignFlow(Buffer.from(CAPTURED, 'hex'));
  });

  void it('does the same for the bytes this machine\'s ovs-ofctl writes now', { skip: onPath('ovs-ofctl') ? false : 'ovs-ofctl is not installed' }, async () => {
    const b = await ovsFlowMod(FOREIGN_FLOW);
    checkForeignFlow(b);
    // ovs-ofctl reads our re-encoding as the same flow.
    const dir = mkdtempSync(join(tmpdir(), 'of-rawset-parse-'));
    try {
      writeFileSync(join(dir, 'fm.bin'), encode(decode(b)));
      const r = spawnSync('ovs-ofctl', ['ofp-parse', join(dir, 'fm.bin')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /actions=set_field:0x5->pkt_mark,set_field:0x1234->reg8,load:0x5->NXM_NX_PKT_MARK\[0\.\.7\],set_field:0x3->reg15,ct\(commit,exec\(set_field:0x7->ct_mark\)\)/);
      assert.match(r.stdout, /priority=7,pkt_mark=0x3,ct_mark=0x10,ip,reg8=0x9/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  void it('round-trips an arbitrary experimenter OXM in a SET_FIELD, with and without mask', () => {
    const exp: OxmRaw = { field: 'raw', oxmClass: 0xffff, oxmField: 9, hasMask: false, experimenter: 0x00abcdef, payload: Buffer.from('0102030405', 'hex') };
    const masked: OxmRaw = { field: 'raw', oxmClass: 0x0003, oxmField: 4, hasMask: true, payload: Buffer.from('00ff00ff', 'hex') };
    const m = flowMod({ priority: 9, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'SET_FIELD', field: exp }, { type: 'SET_FIELD', field: masked }] }] });
    const b = encode(m);
    // Instruction header at 56, then: SET_FIELD len 24 (4 + OXM 4+4+5 = 17, padded), SET_FIELD len 16 (4 + 8, padded).
    assert.equal(b.subarray(64).toString('hex'), [
      '0019 0018', 'ffff 1209 00abcdef 0102030405', '000000 00000000',
      '0019 0010', '0003 0904 00ff00ff', '00000000',
    ].join('').replace(/ /g, ''));
    const d = decode(b);
    assert.deepStrictEqual(plain(d), plain(m));
    assert.equal(encode(d).toString('hex'), b.toString('hex'));
    // The JSON form (ofp decode/encode) keeps the payload as hex and restores it.
    const j = JSON.parse(JSON.stringify(toJSON(d))) as unknown;
    assert.deepStrictEqual((j as { instructions: { actions: { field: { payload: string } }[] }[] }).instructions[0]!.actions[0]!.field.payload, '0102030405');
    assert.equal(encode(fromJSON(j)).toString('hex'), b.toString('hex'));
  });

  void it('gives raw set-fields stable, byte-exact keys for the reconciler', () => {
    const m = decode(Buffer.from(CAPTURED, 'hex')) as FlowModMessage;
    const again = decode(encode(m)) as FlowModMessage;
    assert.equal(instructionsKey(again.instructions), instructionsKey(m.instructions));
    assert.equal(flowKey(3, 7, again.match), flowKey(3, 7, m.match));
    const other = structuredClone(m.instructions);
    const first = other[0]!.type === 'APPLY_ACTIONS' ? other[0]!.actions[0]! : undefined;
    assert.ok(first?.type === 'SET_FIELD' && first.field.field === 'raw');
    first.field.payload = Buffer.from('00000006', 'hex'); // set_field:6->pkt_mark instead of 5
    assert.notEqual(instructionsKey(other), instructionsKey(m.instructions));
    assert.match(instructionsKey(m.instructions), /SET_FIELD:00190010000142040000000500000000/);
    assert.equal(canonicalMatch(m.match).filter((o) => o.field === 'raw').length, 3);
  });

  void it('still rejects a raw SET_FIELD whose OXM overruns the action or leaves too much pad', () => {
    const bad = (action: string): Buffer => {
      const ins = Buffer.from(`0004${(8 + action.length / 2).toString(16).padStart(4, '0')}00000000${action}`, 'hex');
      const raw = Buffer.concat([encode(flowMod({ priority: 1 })), ins]);
      raw.writeUInt16BE(raw.length, 2);
      return raw;
    };
    assert.doesNotThrow(() => decode(bad('00190010000142040000002a00000000')));
    assert.throws(() => decode(bad('0019001000014210000000000000002a')), (e: unknown) => (e as { code?: string }).code === 'OF_BAD_OXM_LEN');
    assert.throws(() => decode(bad('00190018000142040000002a000000000000000000000000')), (e: unknown) => (e as { code?: string }).code === 'OF_BAD_ACTION_LEN');
  });
});
