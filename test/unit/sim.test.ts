// The simulator on its own, with hand-written flows: it has to be right before the pipeline tests can
// trust what it says about the pipeline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowSim, SimAmbiguityError, SimFlowError, arpRequest, ipv4Frame } from '../../src/sim/index.js';
import type { SimFlowInput } from '../../src/sim/index.js';
import type { FlowModBody, Instruction, Match } from '../../src/pipeline/of.js';

const A = 'aa:00:00:00:00:01';
const B = 'aa:00:00:00:00:02';

function flow(tableId: number, priority: number, match: Match, instructions: Instruction[], cookie = 0n): SimFlowInput {
  return { tableId, priority, match, instructions, cookie };
}
const out = (port: number | 'IN_PORT'): Instruction => ({ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port }] });
const drop: Instruction[] = [];

function fm(partial: Partial<FlowModBody> & Pick<FlowModBody, 'command'>): FlowModBody {
  return {
    cookie: 0n,
    cookieMask: 0n,
    tableId: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0,
    bufferId: 'NO_BUFFER',
    outPort: 'ANY',
    outGroup: 'ANY',
    flags: [],
    match: [],
    instructions: [],
    ...partial,
  };
}

void describe('FlowSim matching', () => {
  void it('takes the highest-priority matching flow and honours masks', () => {
    const sim = new FlowSim().load([
      flow(0, 10, [], [out(9)]),
      flow(0, 50, [{ field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }], drop, 1n),
      flow(0, 40, [{ field: 'eth_type', value: 0x0800 }, { field: 'ipv4_dst', value: '10.1.0.0', mask: '255.255.0.0' }], [out(2)]),
    ]);
    const bcast = sim.process({ inPort: 1, frame: arpRequest({ mac: A, ip: '10.1.0.1', target: '10.1.0.2' }) });
    assert.equal(bcast.dropped, true);
    assert.equal(bcast.dropFlow?.cookie, 1n);
    const mcast = sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: '33:33:00:00:00:01', srcIp: '10.1.0.1', dstIp: '10.1.0.2' }) });
    assert.equal(mcast.dropped, true, 'group bit set in an IPv6 multicast MAC is caught by the 01:00.. mask');
    const inNet = sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '10.9.0.1', dstIp: '10.1.200.7' }) });
    assert.deepEqual(
      inNet.outputs.map((o) => o.port),
      [2],
    );
    const other = sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '10.9.0.1', dstIp: '10.2.0.7' }) });
    assert.deepEqual(
      other.outputs.map((o) => o.port),
      [9],
    );
  });

  void it('ends in a table miss, dropped, when no flow matches', () => {
    const sim = new FlowSim().load([flow(0, 1, [{ field: 'in_port', value: 1 }], [{ type: 'GOTO_TABLE', tableId: 5 }])]);
    const r = sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.deepEqual(r.tablesVisited, [0, 5]);
    assert.equal(r.tableMiss, 5);
    assert.equal(r.dropped, true);
    const r2 = sim.process({ inPort: 2, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.equal(r2.tableMiss, 0);
    assert.equal(r2.dropFlow, undefined);
  });

  void it('carries metadata between tables and matches it under a mask', () => {
    const sim = new FlowSim().load([
      flow(0, 1, [], [
        { type: 'WRITE_METADATA', metadata: 0x100000an, metadataMask: 0x1ffffffn },
        { type: 'GOTO_TABLE', tableId: 3 },
      ]),
      flow(3, 5, [{ field: 'metadata', value: 0xan, mask: 0xffffffn }], [out(4)]),
      flow(3, 9, [{ field: 'metadata', value: 0xan, mask: 0x1ffffffn }], [out(5)]),
    ]);
    const r = sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.equal(r.metadata, 0x100000an);
    assert.deepEqual(
      r.outputs.map((o) => o.port),
      [4],
      'the exact-VNI-and-bit-24-clear flow must not match when bit 24 is set',
    );
  });

  void it('counts packets and bytes per flow', () => {
    const sim = new FlowSim().load([flow(0, 1, [{ field: 'in_port', value: 1 }], [out(2)]), flow(0, 0, [], drop)]);
    for (let i = 0; i < 3; i++) sim.process({ inPort: 1, frame: { ...ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }), len: 100 } });
    sim.process({ inPort: 7, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    const [fwd, miss] = sim.flows();
    assert.equal(fwd?.packetCount, 3n);
    assert.equal(fwd?.byteCount, 300n);
    assert.equal(miss?.packetCount, 1n);
  });

  void it('refuses to guess between equal-priority flows that both match', () => {
    const sim = new FlowSim().load([flow(0, 5, [{ field: 'in_port', value: 1 }], [out(2)]), flow(0, 5, [{ field: 'eth_src', value: A }], [out(3)])]);
    assert.throws(() => sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) }), SimAmbiguityError);
    const r = sim.process({ inPort: 1, frame: ipv4Frame({ src: B, dst: A, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.deepEqual(
      r.outputs.map((o) => o.port),
      [2],
    );
  });
});

void describe('FlowSim actions', () => {
  void it('applies set_field and Nicira moves in order and answers out of IN_PORT', () => {
    const sim = new FlowSim().load([
      flow(
        0,
        1,
        [{ field: 'eth_type', value: 0x0806 }, { field: 'arp_op', value: 1 }],
        [
          {
            type: 'APPLY_ACTIONS',
            actions: [
              { type: 'NX_REG_MOVE', src: 'eth_src', dst: 'eth_dst', nBits: 48, srcOfs: 0, dstOfs: 0 },
              { type: 'SET_FIELD', field: { field: 'eth_src', value: B } },
              { type: 'SET_FIELD', field: { field: 'arp_op', value: 2 } },
              { type: 'NX_REG_MOVE', src: 'arp_sha', dst: 'arp_tha', nBits: 48, srcOfs: 0, dstOfs: 0 },
              { type: 'NX_REG_MOVE', src: 'arp_spa', dst: 'arp_tpa', nBits: 32, srcOfs: 0, dstOfs: 0 },
              { type: 'SET_FIELD', field: { field: 'arp_sha', value: B } },
              { type: 'SET_FIELD', field: { field: 'arp_spa', value: '10.0.0.2' } },
              { type: 'OUTPUT', port: 'IN_PORT' },
            ],
          },
        ],
      ),
    ]);
    const r = sim.process({ inPort: 3, frame: arpRequest({ mac: A, ip: '10.0.0.1', target: '10.0.0.2' }) });
    assert.equal(r.outputs.length, 1);
    const o = r.outputs[0]!;
    assert.equal(o.port, 3);
    assert.equal(o.viaInPort, true);
    assert.deepEqual(
      { ...o.frame },
      {
        eth_src: B,
        eth_dst: A,
        eth_type: 0x0806,
        arp_op: 2,
        arp_sha: B,
        arp_spa: '10.0.0.2',
        arp_tha: A,
        arp_tpa: '10.0.0.1',
      },
    );
  });

  void it('moves bit ranges, not only whole fields', () => {
    const sim = new FlowSim().load([
      flow(0, 1, [], [
        {
          type: 'APPLY_ACTIONS',
          actions: [
            { type: 'NX_REG_MOVE', src: 'eth_src', dst: 'reg0', nBits: 8, srcOfs: 8, dstOfs: 4 },
            { type: 'NX_REG_MOVE', src: 'reg0', dst: 'tunnel_id', nBits: 32, srcOfs: 0, dstOfs: 0 },
          ],
        },
        { type: 'WRITE_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.0.9' } }, { type: 'OUTPUT', port: 7 }] },
      ]),
    ]);
    const r = new FlowSim({ tunnelPorts: [7] }).load(sim.flows()).process({ inPort: 1, frame: ipv4Frame({ src: '00:00:00:00:ab:cd', dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.deepEqual(r.outputs[0]?.tunnel, { dst: '192.168.0.9', id: 0xab0n });
  });

  void it('refuses tunnel metadata on a frame from a non-tunnel port', () => {
    const sim = new FlowSim({ tunnelPorts: [9] }).load([flow(0, 1, [], [out(2)])]);
    const frame = { ...ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }), tun_id: 10n, tun_src: '192.168.0.1' };
    assert.throws(
      () => sim.process({ inPort: 1, frame }),
      (e: unknown) => e instanceof SimFlowError && e.code === 'BAD_FRAME',
    );
    assert.equal(sim.process({ inPort: 9, frame }).outputs.length, 1);
  });

  void it('does not send a plain output back to the ingress port', () => {
    const sim = new FlowSim().load([flow(0, 1, [], [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 1 }, { type: 'OUTPUT', port: 2 }] }])]);
    const r = sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.deepEqual(
      r.outputs.map((o) => o.port),
      [2],
    );
    assert.deepEqual(r.suppressed, [1]);
  });

  void it('runs the action set at the end, sets before output, and clear_actions empties it', () => {
    const sim = new FlowSim({ tunnelPorts: [9] }).load([
      flow(0, 1, [], [
        { type: 'WRITE_ACTIONS', actions: [{ type: 'OUTPUT', port: 9 }, { type: 'SET_FIELD', field: { field: 'tunnel_id', value: 5n } }] },
        { type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 4 }, { type: 'SET_FIELD', field: { field: 'eth_dst', value: A } }] },
        { type: 'GOTO_TABLE', tableId: 1 },
      ]),
      flow(1, 1, [{ field: 'in_port', value: 1 }], [{ type: 'WRITE_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'tun_dst', value: '192.168.1.1' } }] }]),
      flow(1, 1, [{ field: 'in_port', value: 2 }], [{ type: 'CLEAR_ACTIONS' }]),
    ]);
    const r = sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.deepEqual(
      r.outputs.map((o) => o.port),
      [4, 9],
    );
    assert.equal(r.outputs[0]?.frame.eth_dst, B, 'the apply-actions output happened before the later set_field');
    assert.equal(r.outputs[0]?.tunnel, undefined);
    assert.equal(r.outputs[1]?.frame.eth_dst, A);
    assert.deepEqual(r.outputs[1]?.tunnel, { dst: '192.168.1.1', id: 5n });
    const cleared = sim.process({ inPort: 2, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    assert.deepEqual(
      cleared.outputs.map((o) => o.port),
      [4],
    );
  });
});

void describe('FlowSim refuses flows a switch would refuse', () => {
  const cases: [string, SimFlowInput, string][] = [
    ['arp field without eth_type', flow(0, 1, [{ field: 'arp_tpa', value: '10.0.0.1' }], drop), 'OFPBMC_BAD_PREREQ'],
    ['ipv4 field under the ARP ethertype', flow(0, 1, [{ field: 'eth_type', value: 0x0806 }, { field: 'ipv4_src', value: '10.0.0.1' }], drop), 'OFPBMC_BAD_PREREQ'],
    ['icmpv6 type without ip_proto', flow(0, 1, [{ field: 'eth_type', value: 0x86dd }, { field: 'icmpv6_type', value: 133 }], drop), 'OFPBMC_BAD_PREREQ'],
    ['masked eth_type as a prerequisite', flow(0, 1, [{ field: 'eth_type', value: 0x0800, mask: 0xff00 }, { field: 'ipv4_src', value: '10.0.0.1' }], drop), 'OFPBMC_BAD_PREREQ'],
    ['value bits outside the mask', flow(0, 1, [{ field: 'metadata', value: 0x10n, mask: 0x0fn }], drop), 'OFPBMC_BAD_WILDCARDS'],
    ['a field twice', flow(0, 1, [{ field: 'in_port', value: 1 }, { field: 'in_port', value: 2 }], drop), 'OFPBMC_DUP_FIELD'],
    ['goto backwards', flow(5, 1, [], [{ type: 'GOTO_TABLE', tableId: 5 }]), 'OFPBIC_BAD_TABLE_ID'],
    ['set arp_op on a match that is not ARP', flow(0, 1, [], [{ type: 'APPLY_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'arp_op', value: 2 } }] }]), 'OFPBAC_MATCH_INCONSISTENT'],
    ['move from an ARP field on a non-ARP match', flow(0, 1, [], [{ type: 'APPLY_ACTIONS', actions: [{ type: 'NX_REG_MOVE', src: 'arp_spa', dst: 'reg0', nBits: 32, srcOfs: 0, dstOfs: 0 }] }]), 'OFPBAC_MATCH_INCONSISTENT'],
    ['move beyond the field', flow(0, 1, [], [{ type: 'APPLY_ACTIONS', actions: [{ type: 'NX_REG_MOVE', src: 'reg0', dst: 'reg1', nBits: 16, srcOfs: 20, dstOfs: 0 }] }]), 'OFPBAC_BAD_SET_ARGUMENT'],
    ['a MAC that is not one', flow(0, 1, [{ field: 'eth_src', value: 'aa:bb' }], drop), 'OFPBMC_BAD_VALUE'],
    ['priority out of range', flow(0, 70000, [], drop), 'OFPFMFC_BAD_PRIORITY'],
    // A foreign flow's set_field:5->pkt_mark decodes to a raw OXM: refused by name, not a crash.
    ['set_field of a raw field (pkt_mark)', flow(0, 1, [], [{ type: 'APPLY_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'raw', oxmClass: 1, oxmField: 33, hasMask: false, payload: new Uint8Array([0, 0, 0, 5]) } }] }]), 'OFPBAC_BAD_SET_TYPE'],
    ['write_actions set_field of a raw field (reg8)', flow(0, 1, [], [{ type: 'WRITE_ACTIONS', actions: [{ type: 'SET_FIELD', field: { field: 'raw', oxmClass: 1, oxmField: 8, hasMask: false, payload: new Uint8Array([0, 0, 0, 9]) } }] }]), 'OFPBAC_BAD_SET_TYPE'],
  ];
  for (const [name, f, code] of cases) {
    void it(name, () => {
      assert.throws(
        () => new FlowSim().add(f),
        (e: unknown) => e instanceof SimFlowError && e.code === code,
      );
    });
  }
});

void describe('FlowSim FLOW_MOD', () => {
  const m1: Match = [{ field: 'in_port', value: 1 }];
  const m1dst: Match = [{ field: 'in_port', value: 1 }, { field: 'eth_dst', value: B }];

  void it('ADD of an existing identity replaces it and keeps counters unless RESET_COUNTS', () => {
    const sim = new FlowSim().load([flow(0, 5, m1, [out(2)], 1n)]);
    sim.process({ inPort: 1, frame: ipv4Frame({ src: A, dst: B, srcIp: '1.1.1.1', dstIp: '2.2.2.2' }) });
    // Same identity written with fields in another order and an explicit all-ones mask.
    sim.flowMod(fm({ command: 'ADD', priority: 5, match: [{ field: 'in_port', value: 1, mask: 0xffffffff }], instructions: [out(3)], cookie: 2n }));
    assert.equal(sim.flows().length, 1);
    assert.equal(sim.flows()[0]?.packetCount, 1n);
    assert.equal(sim.flows()[0]?.cookie, 2n);
    sim.flowMod(fm({ command: 'ADD', priority: 5, match: m1, instructions: [out(3)], cookie: 2n, flags: ['RESET_COUNTS'] }));
    assert.equal(sim.flows()[0]?.packetCount, 0n);
  });

  void it('MODIFY_STRICT changes instructions only; non-strict MODIFY reaches more specific flows', () => {
    const sim = new FlowSim().load([flow(0, 5, m1, [out(2)], 7n), flow(0, 6, m1dst, [out(2)], 8n)]);
    sim.flowMod(fm({ command: 'MODIFY_STRICT', priority: 5, match: m1, instructions: [out(4)], cookie: 99n }));
    const byPrio = (p: number) => sim.flows().find((f) => f.priority === p);
    assert.deepEqual(byPrio(5)?.instructions, [out(4)]);
    assert.equal(byPrio(5)?.cookie, 7n);
    assert.deepEqual(byPrio(6)?.instructions, [out(2)]);
    sim.flowMod(fm({ command: 'MODIFY', match: m1, instructions: [out(6)] }));
    assert.deepEqual(byPrio(6)?.instructions, [out(6)]);
  });

  void it('DELETE selects by match coverage and cookie mask; DELETE_STRICT by exact identity', () => {
    const sim = new FlowSim().load([flow(0, 5, m1, [out(2)], 0xb1e5_0000_0000_0a01n), flow(0, 6, m1dst, [out(2)], 0xb1e5_0000_0000_0b01n), flow(1, 0, [], drop, 0n)]);
    sim.flowMod(fm({ command: 'DELETE', tableId: 'ALL', cookie: 0xb1e5_0000_0000_0a00n, cookieMask: 0xffff_0000_ffff_ff00n }));
    assert.deepEqual(
      sim.flows().map((f) => f.priority),
      [6, 0],
    );
    sim.flowMod(fm({ command: 'DELETE_STRICT', priority: 6, match: m1 }));
    assert.equal(sim.flows().length, 2, 'strict delete needs the exact match');
    sim.flowMod(fm({ command: 'DELETE', match: m1, outPort: 3 }));
    assert.equal(sim.flows().length, 2, 'out_port filters on output actions');
    sim.flowMod(fm({ command: 'DELETE', match: m1, outPort: 2 }));
    assert.deepEqual(
      sim.flows().map((f) => f.tableId),
      [1],
    );
  });

  void it('CHECK_OVERLAP refuses an overlapping flow of equal priority', () => {
    const sim = new FlowSim().load([flow(0, 5, m1, [out(2)])]);
    assert.throws(
      () => sim.flowMod(fm({ command: 'ADD', priority: 5, match: [{ field: 'eth_dst', value: B }], instructions: [], flags: ['CHECK_OVERLAP'] })),
      (e: unknown) => e instanceof SimFlowError && e.code === 'OFPFMFC_OVERLAP',
    );
    sim.flowMod(fm({ command: 'ADD', priority: 5, match: [{ field: 'in_port', value: 2 }], instructions: [], flags: ['CHECK_OVERLAP'] }));
    assert.equal(sim.flows().length, 2);
  });
});
