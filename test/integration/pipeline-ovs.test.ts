// The simulator is only as good as its agreement with Open vSwitch. This test installs the pipeline of
// classic-demo host-1 into a real (userspace) Open vSwitch with ovs-ofctl, then sends the same frames
// through `ofproto/trace` and through src/sim, and requires the same flows (table, priority, cookie)
// to match in the same order, and the same rewritten ARP reply. It needs root and Open vSwitch, no
// traffic: traces are computed, not sent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { desiredFlows, formatFlow } from '../../src/pipeline/index.js';
import { arpRequest, ipv4Frame } from '../../src/sim/index.js';
import type { Frame } from '../../src/sim/index.js';
import { OvsHost } from '../support/switch-ovshost.js';
import { IP, MAC, PORT_A, PORT_B, TUNNEL_PORT, VTEP, classicInput, noisyFrames, simFor } from '../unit/pipeline-fixtures.js';

/** ovs-ofctl flow syntax for a described frame (ofproto/trace input). */
function traceFlow(inPort: number, frame: Frame): string {
  const names: Record<string, string> = {
    eth_src: 'dl_src',
    eth_dst: 'dl_dst',
    ipv4_src: 'nw_src',
    ipv4_dst: 'nw_dst',
    ip_proto: 'nw_proto',
  };
  const parts = [`in_port=${inPort}`];
  for (const [k, v] of Object.entries(frame)) {
    if (v === undefined || k === 'len') continue;
    if (k === 'eth_type') parts.push(`dl_type=0x${(v as number).toString(16).padStart(4, '0')}`);
    else if (k === 'vlan_vid') parts.push(`vlan_tci=0x${((v as number) | 0).toString(16)}`);
    else if (k === 'tun_id') parts.push(`tun_id=0x${(v as bigint).toString(16)}`, `tun_dst=${VTEP(1)}`);
    else parts.push(`${names[k] ?? k}=${String(v)}`);
  }
  return parts.join(',');
}

interface Trace {
  flows: string[];
  final: string;
}

void describe('pipeline on Open vSwitch: src/sim agrees with ofproto/trace', () => {
  let host: OvsHost | undefined;
  const input = classicInput(1);
  const flows = desiredFlows(input);

  const trace = (inPort: number, frame: Frame): Trace => {
    const out = execFileSync('ovs-appctl', ['-t', join(host!.dir, 'vswitchd.ctl'), 'ofproto/trace', 'br-int', traceFlow(inPort, frame)], {
      encoding: 'utf8',
      timeout: 30000,
    });
    const matched: string[] = [];
    for (const line of out.split('\n')) {
      const m = /^\s*(\d+)\. .*priority (\d+), cookie (0x[0-9a-f]+)$/.exec(line);
      if (m) matched.push(`${m[1]}/${m[2]}/${m[3]}`);
    }
    return { flows: matched, final: /^Final flow: (.*)$/m.exec(out)?.[1] ?? '' };
  };

  before(() => {
    host = OvsHost.start();
    host.vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int', 'datapath_type=netdev', 'protocols=OpenFlow13', 'fail_mode=secure');
    host.vsctl(
      'add-port', 'br-int', 'tun0', '--', 'set', 'interface', 'tun0', 'type=vxlan', 'options:remote_ip=flow',
      `options:local_ip=${VTEP(1)}`, 'options:key=flow', `ofport_request=${TUNNEL_PORT}`,
    );
    host.vsctl('add-port', 'br-int', 'h1', '--', 'set', 'interface', 'h1', 'type=internal', `ofport_request=${PORT_A}`);
    host.vsctl('add-port', 'br-int', 'j1', '--', 'set', 'interface', 'j1', 'type=internal', `ofport_request=${PORT_B}`);
    const file = join(host.dir, 'pipeline.flows');
    writeFileSync(file, flows.map(formatFlow).join('\n') + '\n');
    host.ofctl('add-flows', file);
  });

  after(() => host?.stop());

  void it('installs every flow the pipeline computes', () => {
    const installed = host!.dumpFlows();
    assert.equal(installed.length, flows.length);
    const cookies = installed.map((l) => /cookie=(0x[0-9a-f]+)/.exec(l)?.[1]).sort();
    assert.deepEqual(cookies, flows.map((f) => `0x${f.cookie.toString(16)}`).sort());
  });

  void it('matches the same flows in the same order for local, tunnel, forged and BUM frames', () => {
    const cases: [string, number, Frame][] = [
      ...noisyFrames(1).flatMap(([name, f]): [string, number, Frame][] => [
        [`${name} (port ${PORT_A})`, PORT_A, f],
        [`${name} (port ${PORT_B})`, PORT_B, f],
      ]),
      ['unicast to a remote MAC', PORT_A, ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) })],
      ['unicast ARP request', PORT_B, arpRequest({ mac: MAC(1), ip: IP(1), target: IP(3), eth_dst: MAC(3) })],
      ['forged source MAC', PORT_A, ipv4Frame({ src: MAC(7), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) })],
      ['forged source IP', PORT_A, ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(3), dstIp: IP(2) })],
      ['VLAN-tagged', PORT_A, { ...ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) }), vlan_vid: 0x1005 }],
      ['tunnel frame for a local MAC', TUNNEL_PORT, { ...ipv4Frame({ src: MAC(2), dst: MAC(1), srcIp: IP(2), dstIp: IP(1) }), tun_id: 11n, tun_src: VTEP(2) }],
      ['tunnel frame for a remote MAC', TUNNEL_PORT, { ...ipv4Frame({ src: MAC(2), dst: MAC(3), srcIp: IP(2), dstIp: IP(3) }), tun_id: 10n, tun_src: VTEP(2) }],
      ['tunnel broadcast ARP', TUNNEL_PORT, { ...arpRequest({ mac: MAC(2), ip: IP(2), target: IP(1) }), tun_id: 10n, tun_src: VTEP(3) }],
      ['tunnel frame from an unknown peer', TUNNEL_PORT, { ...ipv4Frame({ src: MAC(2), dst: MAC(1), srcIp: IP(2), dstIp: IP(1) }), tun_id: 10n, tun_src: '192.168.100.9' }],
    ];
    const sim = simFor(input);
    for (const [name, inPort, frame] of cases) {
      const r = sim.process({ inPort, frame });
      const simFlows = r.matchedFlows.map((f) => `${f.tableId}/${f.priority}/0x${f.cookie.toString(16)}`);
      const t = trace(inPort, frame);
      assert.ok(t.flows.length > 0, `${name}: ofproto/trace reported no flow`);
      assert.deepEqual(t.flows, simFlows, name);
    }
  });

  void it('rewrites a broadcast ARP request into the same reply', () => {
    const frame = arpRequest({ mac: MAC(1), ip: IP(1), target: IP(2) });
    const out = simFor(input).process({ inPort: PORT_A, frame }).outputs[0]!.frame;
    const final = trace(PORT_A, frame).final;
    for (const [ovs, v] of [
      ['dl_src', out.eth_src],
      ['dl_dst', out.eth_dst],
      ['arp_op', out.arp_op],
      ['arp_sha', out.arp_sha],
      ['arp_spa', out.arp_spa],
      ['arp_tha', out.arp_tha],
      ['arp_tpa', out.arp_tpa],
    ] as const) {
      assert.match(final, new RegExp(`(^|,)${ovs}=${String(v)}(,|$)`), `${ovs} in ${final}`);
    }
  });
});
