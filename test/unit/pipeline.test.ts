// Behavioural tests of the pipeline: desired flows loaded into the simulated switch, then asked
// what happens to frames, on the classic demo (two tenants with identical IPs and MACs, 3 hosts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BUM_DROP_KINDS, cookieKind, cookieVni, desiredFlows, flowDataText, flowIdentity, planPipeline, sameFlowData, TABLES } from '../../src/pipeline/index.js';
import type { FlowKindName } from '../../src/pipeline/index.js';
import { compareEndpointValues } from '../../src/registry/registry.js';
import { BROADCAST_MAC, ETH_TYPE, FlowSim, arpReply, arpRequest, ipv4Frame, ipv6Frame } from '../../src/sim/index.js';
import type { Frame, SimResult } from '../../src/sim/index.js';
import { HOST, IP, MAC, NET_A, NET_B, PORT_A, PORT_B, TUNNEL_PORT, VTEP, classicEndpoints, classicInput, endpoint, network, noisyFrames, simFor } from './pipeline-fixtures.js';
import { mulberry32 } from '../support/prng.js';

const kindOf = (r: SimResult): FlowKindName | undefined => (r.dropFlow ? cookieKind(r.dropFlow.cookie) : undefined);
const fromTunnel = (frame: Frame, vni: number, peer: number): Frame => ({ ...frame, tun_id: BigInt(vni), tun_src: VTEP(peer) });
const h = (n: number) => ({ mac: MAC(n), ip: IP(n) });

function tunnelOutputs(r: SimResult) {
  return r.outputs.filter((o) => o.port === TUNNEL_PORT);
}

void describe('pipeline on the classic demo', () => {
  void it('answers a broadcast ARP for a known IP locally, out of the asking port, with correct reply fields', () => {
    for (const [port, vni] of [
      [PORT_A, 10],
      [PORT_B, 11],
    ] as const) {
      const sim = simFor(classicInput(1));
      const r = sim.process({ inPort: port, frame: arpRequest({ ...h(1), target: IP(2) }) });
      assert.equal(r.outputs.length, 1, `exactly one frame leaves (VNI ${vni})`);
      const o = r.outputs[0]!;
      assert.equal(o.port, port);
      assert.equal(o.viaInPort, true);
      assert.equal(o.tunnel, undefined);
      assert.deepEqual(
        { ...o.frame },
        { eth_src: MAC(2), eth_dst: MAC(1), eth_type: ETH_TYPE.ARP, arp_op: 2, arp_sha: MAC(2), arp_spa: IP(2), arp_tha: MAC(1), arp_tpa: IP(1) },
      );
      assert.equal(cookieKind(r.matchedFlows.at(-1)!.cookie), 'arp-responder');
      assert.equal(cookieVni(r.matchedFlows.at(-1)!.cookie), vni);
    }
  });

  void it('answers an RFC 5227 probe for somebody else\'s address (conflict detection works)', () => {
    const r = simFor(classicInput(1)).process({ inPort: PORT_A, frame: arpRequest({ mac: MAC(1), ip: '0.0.0.0', target: IP(3) }) });
    assert.equal(r.outputs.length, 1);
    assert.equal(r.outputs[0]?.frame.arp_sha, MAC(3));
    assert.equal(r.outputs[0]?.frame.arp_tpa, '0.0.0.0');
    assert.equal(r.outputs[0]?.frame.arp_tha, MAC(1));
  });

  void it('does not answer a probe or gratuitous ARP for the sender\'s own address', () => {
    const sim = simFor(classicInput(2));
    for (const frame of [arpRequest({ mac: MAC(2), ip: '0.0.0.0', target: IP(2) }), arpRequest({ ...h(2), target: IP(2) })]) {
      const r = sim.process({ inPort: PORT_A, frame });
      assert.equal(r.dropped, true);
      assert.equal(kindOf(r), 'arp-own-probe-drop');
    }
  });

  void it('sends nothing through the tunnel, and nothing to any port, for ARP, broadcast, multicast, IPv6 RS/MLD/ND and unknown unicast', () => {
    for (const host of [1, 2, 3]) {
      const sim = simFor(classicInput(host));
      for (const port of [PORT_A, PORT_B]) {
        for (const [name, frame] of noisyFrames(host)) {
          const r = sim.process({ inPort: port, frame });
          assert.deepEqual(tunnelOutputs(r), [], `${name} from host ${host} port ${port} reached the tunnel`);
          const leaks = r.outputs.filter((o) => !(o.viaInPort && o.frame.arp_op === 2));
          assert.deepEqual(leaks, [], `${name} from host ${host} port ${port} was forwarded`);
        }
      }
    }
  });

  void it('drops each kind of BUM frame with the per-network flow meant to count it', () => {
    const sim = simFor(classicInput(1));
    const expect: Record<string, FlowKindName> = {
      'broadcast ARP for an unknown IP': 'bum-drop',
      'gratuitous ARP reply': 'bum-drop',
      'IPv4 subnet broadcast': 'bum-drop',
      'IPv4 multicast (mDNS)': 'bum-drop',
      'IPv6 router solicitation': 'bum-drop',
      'IPv6 MLDv2 report': 'bum-drop',
      'IPv6 neighbour solicitation': 'bum-drop',
      'unknown unicast': 'unknown-unicast-drop',
      // Group addresses that fail port security (source 0.0.0.0, no registered ethertype) are BUM too.
      'IPv4 broadcast (DHCP discover)': 'bum-drop',
      'LLDP-like other ethertype': 'bum-drop',
      'STP BPDU (802.3/LLC)': 'bum-drop',
    };
    assert.equal(Object.keys(expect).length, noisyFrames(1).length - 3, 'every noisy frame but the three ARP ones that are answered or own-probe drops');
    for (const [name, frame] of noisyFrames(1)) {
      const want = expect[name];
      if (!want) continue;
      for (const [port, vni] of [
        [PORT_A, 10],
        [PORT_B, 11],
      ] as const) {
        const r = sim.process({ inPort: port, frame });
        assert.equal(kindOf(r), want, name);
        assert.equal(cookieVni(r.dropFlow!.cookie), vni, `${name} counted in VNI ${vni}`);
      }
    }
  });

  void it('sums BUM drops per network from the flow counters', () => {
    const sim = simFor(classicInput(1));
    for (let i = 0; i < 5; i++) sim.process({ inPort: PORT_A, frame: arpRequest({ ...h(1), target: '10.10.10.200' }) });
    for (let i = 0; i < 3; i++) sim.process({ inPort: PORT_B, frame: ipv4Frame({ src: MAC(1), dst: 'aa:aa:aa:aa:aa:42', srcIp: IP(1), dstIp: IP(42) }) });
    sim.process({ inPort: PORT_B, frame: ipv6Frame({ src: MAC(1), dst: '33:33:00:00:00:02', srcIp: 'fe80::1', dstIp: 'ff02::2', icmpv6Type: 133 }) });
    // DHCP discover (source 0.0.0.0) and LLDP fail port security but are BUM; unicast spoofing is not.
    sim.process({ inPort: PORT_A, frame: ipv4Frame({ src: MAC(1), dst: BROADCAST_MAC, srcIp: '0.0.0.0', dstIp: '255.255.255.255', proto: 17 }) });
    sim.process({ inPort: PORT_B, frame: { eth_src: MAC(1), eth_dst: '01:80:c2:00:00:0e', eth_type: 0x88cc } });
    sim.process({ inPort: PORT_A, frame: ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(3), dstIp: IP(2) }) });
    const bum = (vni: number) =>
      sim
        .flows()
        .filter((f) => BUM_DROP_KINDS.includes(cookieKind(f.cookie)!) && cookieVni(f.cookie) === vni)
        .reduce((n, f) => n + f.packetCount, 0n);
    assert.equal(bum(10), 6n);
    assert.equal(bum(11), 5n);
  });

  void it('sends unicast to a remote MAC into the tunnel with the right destination VTEP and VNI, unchanged', () => {
    const sim = simFor(classicInput(1));
    for (const [port, vni] of [
      [PORT_A, 10n],
      [PORT_B, 11n],
    ] as const) {
      for (const peer of [2, 3]) {
        const frame = ipv4Frame({ src: MAC(1), dst: MAC(peer), srcIp: IP(1), dstIp: IP(peer) });
        const r = sim.process({ inPort: port, frame });
        assert.equal(r.outputs.length, 1);
        assert.equal(r.outputs[0]?.port, TUNNEL_PORT);
        assert.deepEqual(r.outputs[0]?.tunnel, { dst: VTEP(peer), id: vni });
        assert.equal(r.outputs[0]?.frame.eth_dst, MAC(peer));
        assert.equal(r.outputs[0]?.frame.ipv4_dst, IP(peer));
      }
    }
  });

  void it('delivers tunnel frames by VNI: tenant B never reaches tenant A\'s port and vice versa', () => {
    for (const host of [1, 2, 3]) {
      const sim = simFor(classicInput(host));
      for (const peer of [1, 2, 3].filter((p) => p !== host)) {
        for (const [vni, port, other] of [
          [10, PORT_A, PORT_B],
          [11, PORT_B, PORT_A],
        ] as const) {
          const r = sim.process({ inPort: TUNNEL_PORT, frame: fromTunnel(ipv4Frame({ src: MAC(peer), dst: MAC(host), srcIp: IP(peer), dstIp: IP(host) }), vni, peer) });
          assert.deepEqual(
            r.outputs.map((o) => o.port),
            [port],
          );
          assert.ok(!r.outputs.some((o) => o.port === other));
        }
      }
    }
  });

  void it('never lets a local frame of one tenant reach the other tenant\'s port, for any destination', () => {
    for (const host of [1, 2, 3]) {
      const sim = simFor(classicInput(host));
      const dsts = [MAC(1), MAC(2), MAC(3), BROADCAST_MAC, 'aa:aa:aa:aa:aa:99'];
      for (const [port, other] of [
        [PORT_A, PORT_B],
        [PORT_B, PORT_A],
      ] as const) {
        for (const dst of dsts) {
          for (const frame of [ipv4Frame({ src: MAC(host), dst, srcIp: IP(host), dstIp: IP(2) }), arpRequest({ ...h(host), target: IP(2), eth_dst: dst })]) {
            const r = sim.process({ inPort: port, frame });
            assert.ok(!r.outputs.some((o) => o.port === other), `port ${port} -> ${dst} reached port ${other}`);
          }
        }
      }
    }
  });

  void it('accepts tunnel frames only with a known VNI from a peer that hosts that network', () => {
    const sim = simFor(classicInput(1));
    const frame = ipv4Frame({ src: MAC(2), dst: MAC(1), srcIp: IP(2), dstIp: IP(1) });
    for (const [vni, peer] of [
      [12, 2],
      [10, 9],
      [10, 1],
    ] as const) {
      const r = sim.process({ inPort: TUNNEL_PORT, frame: fromTunnel(frame, vni, peer) });
      assert.equal(r.dropped, true, `VNI ${vni} from ${VTEP(peer)}`);
      assert.equal(kindOf(r), 'default-drop');
      assert.deepEqual(r.tablesVisited, [0]);
    }
  });

  void it('never sends a frame that came from the tunnel back into the tunnel', () => {
    for (const host of [1, 2, 3]) {
      const sim = simFor(classicInput(host));
      for (const peer of [1, 2, 3].filter((p) => p !== host)) {
        for (const vni of [10, 11]) {
          for (let dst = 1; dst <= 3; dst++) {
            for (const frame of [
              ipv4Frame({ src: MAC(peer), dst: MAC(dst), srcIp: IP(peer), dstIp: IP(dst) }),
              arpRequest({ ...h(peer), target: IP(dst) }),
              arpRequest({ ...h(peer), target: IP(dst), eth_dst: MAC(dst) }),
              ipv4Frame({ src: MAC(peer), dst: BROADCAST_MAC, srcIp: IP(peer), dstIp: '10.10.10.255' }),
            ]) {
              const r = sim.process({ inPort: TUNNEL_PORT, frame: fromTunnel(frame, vni, peer) });
              assert.deepEqual(tunnelOutputs(r), [], `host ${host}: from ${peer} VNI ${vni} to ${frame.eth_dst}`);
              assert.ok(r.outputs.every((o) => !o.viaInPort), 'no ARP answered back into the tunnel');
            }
          }
          const stale = sim.process({ inPort: TUNNEL_PORT, frame: fromTunnel(ipv4Frame({ src: MAC(peer), dst: MAC(6 - host - peer), srcIp: IP(peer), dstIp: IP(1) }), vni, peer) });
          assert.equal(kindOf(stale), 'split-horizon-drop');
        }
      }
    }
  });

  void it('drops forged source MACs, forged IPv4 and ARP senders, and VLAN-tagged frames', () => {
    const sim = simFor(classicInput(1));
    const cases: [string, Frame, FlowKindName][] = [
      ['forged eth_src', ipv4Frame({ src: MAC(5), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) }), 'default-drop'],
      ['another endpoint\'s MAC', ipv4Frame({ src: MAC(2), dst: MAC(3), srcIp: IP(2), dstIp: IP(3) }), 'default-drop'],
      ['forged IPv4 source', ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(3), dstIp: IP(2) }), 'port-security-drop'],
      ['forged ARP sender IP', arpRequest({ mac: MAC(1), ip: IP(3), target: IP(2), eth_dst: MAC(2) }), 'port-security-drop'],
      ['forged ARP sender MAC', { ...arpRequest({ ...h(1), target: IP(2), eth_dst: MAC(2) }), arp_sha: MAC(3) }, 'port-security-drop'],
      // Broadcast with a forged sender is dropped as well, counted as BUM (it would have been flooded).
      ['broadcast ARP with a forged sender IP', arpRequest({ mac: MAC(1), ip: IP(3), target: IP(2) }), 'bum-drop'],
      ['broadcast ARP with a forged sender MAC', { ...arpRequest({ ...h(1), target: IP(2) }), arp_sha: MAC(3) }, 'bum-drop'],
      ['unicast of another ethertype', { eth_src: MAC(1), eth_dst: MAC(2), eth_type: 0x88b5 }, 'port-security-drop'],
      ['unregistered IPv6 source', ipv6Frame({ src: MAC(1), dst: MAC(2), srcIp: 'fd00::1', dstIp: 'fd00::2' }), 'port-security-drop'],
      ['VLAN-tagged frame', { ...ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) }), vlan_vid: 0x1000 | 5 }, 'default-drop'],
    ];
    for (const [name, frame, kind] of cases) {
      const r = sim.process({ inPort: PORT_A, frame });
      assert.equal(r.dropped, true, name);
      assert.equal(kindOf(r), kind, name);
    }
    // The same MAC is legitimate on tenant B's port of the same host, and only there.
    assert.equal(sim.process({ inPort: PORT_B, frame: ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) }) }).dropped, false);
    assert.equal(sim.process({ inPort: 9, frame: ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) }) }).dropped, true);
  });

  void it('refuses a local endpoint on the tunnel port or on LOCAL: a tunnel frame with its MAC is not taken as local', () => {
    const LOCAL = 0xfffffffe;
    const netC = network('c', 'net', 12);
    const endpoints = [
      ...classicEndpoints(),
      endpoint({ net: 'c/net', mac: MAC(8), ips: [IP(8)], host: 1, port: 'k1' }),
      // The attacker's registrations: the tunnel port and the bridge's own (LOCAL) port as "container ports".
      endpoint({ net: 'c/net', mac: MAC(7), ips: [IP(7)], host: 1, port: 'tun0' }),
      endpoint({ net: 'c/net', mac: MAC(6), ips: [IP(6)], host: 1, port: 'br-int' }),
    ];
    const localPorts = new Map([['h1', PORT_A], ['j1', PORT_B], ['k1', 5], ['tun0', TUNNEL_PORT], ['br-int', LOCAL]]);
    const input = classicInput(1, { endpoints, networks: [NET_A, NET_B, netC], localPorts });
    const plan = planPipeline(input);
    assert.ok(plan.problems.some((p) => p.endpoint === MAC(7) && /tunnel port/.test(p.message)), plan.problems.map((p) => p.message).join('\n'));
    assert.ok(plan.problems.some((p) => p.endpoint === MAC(6) && /unusable ofport/.test(p.message)));
    const inPortOf = (f: (typeof plan.flows)[number]) => f.match.find((m) => m.field === 'in_port')?.value;
    assert.deepEqual(plan.flows.filter((f) => f.tableId === 0 && f.match.some((m) => m.field === 'eth_src') && [TUNNEL_PORT, LOCAL].includes(Number(inPortOf(f)))), []);
    const outputs = plan.flows.flatMap((f) => f.instructions.flatMap((i) => (i.type === 'APPLY_ACTIONS' ? i.actions : [])).filter((a) => a.type === 'OUTPUT').map((a) => ({ f, port: a.port })));
    assert.deepEqual(outputs.filter((o) => o.port === TUNNEL_PORT && cookieKind(o.f.cookie) !== 'unicast-remote').map((o) => flowIdentity(o.f)), [], 'only unicast-remote (with tun_dst) outputs to the tunnel');

    const sim = new FlowSim({ tunnelPorts: [TUNNEL_PORT], ports: [...localPorts.values()] }).load(plan.flows);
    // Tunnel frames with the attacker's MAC: an unknown VNI from an unknown underlay address, and a
    // known VNI from a real peer. Neither may reach tenant c's container.
    for (const [vni, tunSrc] of [
      [12, '203.0.113.9'],
      [999, VTEP(2)],
      [10, VTEP(2)],
    ] as const) {
      const frame = { ...ipv4Frame({ src: MAC(7), dst: MAC(8), srcIp: IP(7), dstIp: IP(8) }), tun_id: BigInt(vni), tun_src: tunSrc };
      const r = sim.process({ inPort: TUNNEL_PORT, frame });
      assert.deepEqual(r.outputs, [], `VNI ${vni} from ${tunSrc} was delivered`);
      assert.notEqual(cookieVni(r.matchedFlows[0]?.cookie ?? 0n), 12, `VNI ${vni} from ${tunSrc} was classified into network c`);
    }
    // And tenant c's container cannot address the tunnel as if it were a local port.
    const out = sim.process({ inPort: 5, frame: ipv4Frame({ src: MAC(8), dst: MAC(7), srcIp: IP(8), dstIp: IP(7) }) });
    assert.deepEqual(out.outputs, []);
    assert.equal(kindOf(out), 'unknown-unicast-drop');
  });

  void it('forwards a unicast ARP request to its target (liveness probes) and ARP replies as unicast', () => {
    const sim = simFor(classicInput(1));
    const probe = sim.process({ inPort: PORT_A, frame: arpRequest({ ...h(1), target: IP(2), eth_dst: MAC(2) }) });
    assert.equal(probe.outputs.length, 1);
    assert.equal(probe.outputs[0]?.port, TUNNEL_PORT);
    assert.deepEqual(probe.outputs[0]?.tunnel, { dst: VTEP(2), id: 10n });
    assert.equal(probe.outputs[0]?.frame.arp_op, 1, 'not answered by the switch');
    const sim2 = simFor(classicInput(2));
    const arrived = sim2.process({ inPort: TUNNEL_PORT, frame: fromTunnel(probe.outputs[0].frame, 10, 1) });
    assert.deepEqual(
      arrived.outputs.map((o) => o.port),
      [PORT_A],
    );
    const reply = sim2.process({ inPort: PORT_A, frame: arpReply({ mac: MAC(2), ip: IP(2), dstMac: MAC(1), dstIp: IP(1) }) });
    assert.deepEqual(reply.outputs[0]?.tunnel, { dst: VTEP(1), id: 10n });
  });

  void it('switches unicast, ARP and IPv6 between two local endpoints of one network', () => {
    const endpoints = [
      ...classicEndpoints(),
      endpoint({ net: 'a/net', mac: MAC(4), ips: [IP(4), 'fd00::4'], host: 1, port: 'h4' }),
    ];
    endpoints[0] = { ...endpoints[0]!, ips: [IP(1), 'fd00::1'] };
    const input = classicInput(1, { endpoints, localPorts: new Map([['h1', 3], ['j1', 4], ['h4', 7]]) });
    const sim = simFor(input);
    const arp = sim.process({ inPort: 3, frame: arpRequest({ ...h(1), target: IP(4), eth_dst: MAC(4) }) });
    assert.deepEqual(
      arp.outputs.map((o) => o.port),
      [7],
    );
    const answered = sim.process({ inPort: 7, frame: arpRequest({ ...h(4), target: IP(1) }) });
    assert.deepEqual(
      answered.outputs.map((o) => [o.port, o.frame.arp_sha]),
      [[7, MAC(1)]],
    );
    const v6 = sim.process({ inPort: 7, frame: ipv6Frame({ src: MAC(4), dst: MAC(1), srcIp: 'fd00::4', dstIp: 'fd00::1', proto: 6 }) });
    assert.deepEqual(
      v6.outputs.map((o) => o.port),
      [3],
    );
    const hairpin = sim.process({ inPort: 7, frame: ipv4Frame({ src: MAC(4), dst: MAC(4), srcIp: IP(4), dstIp: IP(4) }) });
    assert.equal(hairpin.dropped, true, 'OpenFlow does not send a plain output back out of the ingress port');
  });
});

void describe('pipeline: only what is needed', () => {
  void it('installs 40 flows per classic-demo host, 18 per network plus 4 table defaults', () => {
    for (const host of [1, 2, 3]) {
      const flows = desiredFlows(classicInput(host));
      assert.equal(flows.length, 40, `host ${host}`);
      for (const vni of [10, 11]) assert.equal(flows.filter((f) => cookieVni(f.cookie) === vni).length, 18);
      const kinds = new Map<string, number>();
      for (const f of flows.filter((x) => cookieVni(x.cookie) === 10)) kinds.set(cookieKind(f.cookie)!, (kinds.get(cookieKind(f.cookie)!) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries([...kinds].sort()), {
        'arp-own-probe-drop': 1,
        'arp-responder': 3,
        'bum-drop': 2,
        'classify-local': 1,
        'classify-tunnel': 2,
        'port-security': 3,
        'port-security-drop': 1,
        'split-horizon-drop': 1,
        'unicast-local': 1,
        'unicast-remote': 2,
        'unknown-unicast-drop': 1,
      });
    }
  });

  void it('does not grow with networks the host does not take part in', () => {
    const base = desiredFlows(classicInput(1)).length;
    const more = [...classicEndpoints()];
    const nets = [NET_A, NET_B];
    for (let i = 0; i < 50; i++) {
      nets.push(network(`t${i}`, 'net', 100 + i));
      for (let hst = 2; hst <= 3; hst++) more.push(endpoint({ net: `t${i}/net`, mac: MAC(hst), ips: [IP(hst)], host: hst, port: `x${i}` }));
    }
    for (let hst = 4; hst < 40; hst++) more.push(endpoint({ net: 'b/net', mac: MAC(hst + 16), ips: [IP(hst + 16)], host: hst, port: 'j' }));
    const flows = desiredFlows(classicInput(1, { networks: nets, endpoints: more }));
    assert.equal(flows.filter((f) => cookieVni(f.cookie) === 10).length, 18);
    assert.equal(flows.filter((f) => cookieVni(f.cookie) >= 100).length, 0);
    // Each remote endpoint of a network the host serves costs a unicast and an ARP flow, each new peer VTEP a classify flow.
    assert.equal(flows.length, base + 36 * 3);
  });

  void it('gives a host without endpoints only the table defaults', () => {
    const flows = desiredFlows({ ...classicInput(1), hostId: 'host-9', vtepIp: VTEP(9), localPorts: new Map() });
    assert.deepEqual(
      flows.map((f) => cookieKind(f.cookie)),
      ['default-drop', 'default-drop', 'arp-pass', 'default-drop'],
    );
  });

  void it('makes no local flows for an endpoint whose port is not attached, and no remote flows without a tunnel port', () => {
    const detached = desiredFlows(classicInput(1, { localPorts: new Map([['j1', PORT_B]]) }));
    assert.equal(detached.filter((f) => cookieVni(f.cookie) === 10).length, 0, 'network a has no attached endpoint on host 1');
    assert.equal(detached.filter((f) => cookieVni(f.cookie) === 11).length, 18);

    const input = classicInput(1);
    delete input.tunnelOfport;
    const noTunnel = desiredFlows(input);
    const kinds = new Set(noTunnel.map((f) => cookieKind(f.cookie)));
    assert.ok(!kinds.has('unicast-remote') && !kinds.has('classify-tunnel'));
    assert.equal(noTunnel.filter((f) => cookieKind(f.cookie) === 'arp-responder').length, 2, 'only local addresses are answered');
    const sim = simFor(input);
    const r = sim.process({ inPort: PORT_A, frame: arpRequest({ ...h(1), target: IP(2) }) });
    assert.equal(kindOf(r), 'bum-drop');
  });
});

void describe('pipeline output properties', () => {
  void it('is deterministic, sorted, and has no two flows with one identity', () => {
    const rng = mulberry32(7);
    for (const host of [1, 2, 3]) {
      const ref = desiredFlows(classicInput(host));
      for (let i = 0; i < 10; i++) {
        const shuffled = classicInput(host, { endpoints: shuffle(classicEndpoints(), rng), networks: shuffle([NET_A, NET_B], rng) });
        assert.deepEqual(desiredFlows(shuffled), ref);
      }
      const ids = ref.map(flowIdentity);
      assert.equal(new Set(ids).size, ids.length);
      for (let i = 1; i < ref.length; i++) {
        const [a, b] = [ref[i - 1]!, ref[i]!];
        assert.ok(a.tableId < b.tableId || (a.tableId === b.tableId && a.priority >= b.priority), 'table order, then lookup order');
      }
    }
  });

  void it('emits only flows of the families tables.ts documents, with the generation left at 0', () => {
    const families = new Set(TABLES.flatMap((t) => t.families.map((f) => `${t.id}/${f.priority}/${f.kind}`)));
    for (const f of desiredFlows(classicInput(1))) {
      assert.ok(families.has(`${f.tableId}/${f.priority}/${cookieKind(f.cookie)}`), `undocumented flow ${flowIdentity(f)}`);
      assert.equal((f.cookie >> 32n) & 0xffffn, 0n);
    }
  });

  void it('resolves registry conflicts deterministically and reports them', () => {
    const endpoints = [
      ...classicEndpoints(),
      // Same MAC as h2 in the same network, moved to host 3 with a higher sequence number.
      endpoint({ net: 'a/net', mac: MAC(2), ips: [IP(2)], host: 3, port: 'h2', seq: 2 }),
      // An IP claimed twice in one network.
      endpoint({ net: 'a/net', mac: MAC(9), ips: [IP(3)], host: 2, port: 'h9' }),
      // Same port and MAC in two networks on host 1.
      endpoint({ net: 'c/net', mac: MAC(1), ips: [IP(1)], host: 1, port: 'h1' }),
      endpoint({ net: 'ghost/net', mac: MAC(1), ips: [IP(1)], host: 1, port: 'h1' }),
      // A second record for j3 with the same sequence number and host but another address.
      endpoint({ net: 'b/net', mac: MAC(3), ips: [IP(33)], host: 3, port: 'j3' }),
    ];
    const input = classicInput(1, { endpoints, networks: [NET_A, NET_B, network('c', 'net', 12)] });
    const plan = planPipeline(input);
    const ids = plan.flows.map(flowIdentity);
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(plan.problems.length, 5, plan.problems.map((p) => p.message).join('\n'));
    const sim = simFor(input);
    const toH2 = sim.process({ inPort: PORT_A, frame: ipv4Frame({ src: MAC(1), dst: MAC(2), srcIp: IP(1), dstIp: IP(2) }) });
    assert.deepEqual(toH2.outputs[0]?.tunnel, { dst: VTEP(3), id: 10n }, 'the moved endpoint (higher seq) wins');
    const classify = sim.process({ inPort: PORT_A, frame: ipv4Frame({ src: MAC(1), dst: MAC(3), srcIp: IP(1), dstIp: IP(3) }) });
    assert.equal(cookieVni(classify.matchedFlows[0]!.cookie), 10, 'the lower VNI keeps the port');
    assert.deepEqual(desiredFlows({ ...input, endpoints: [...endpoints].reverse() }), plan.flows);
  });

  void it('breaks a sequence-number tie the registry\'s way: the lower VTEP IP wins, whatever the host ids', () => {
    // host-a sorts first by id but has the numerically higher VTEP (.20 > .5, though "20" < "5" as text).
    const copy = (hostId: string, vtep: string) => ({ ...endpoint({ net: 'a/net', mac: MAC(9), ips: [IP(9)], host: 2, port: 'h9', seq: 7 }), hostId, vtep });
    const a = copy('host-a', '192.168.100.20');
    const z = copy('host-z', '192.168.100.5');
    assert.ok(compareEndpointValues(z, a) < 0, 'the registry prefers the lower VTEP');
    for (const order of [
      [a, z],
      [z, a],
    ]) {
      const input = classicInput(1, { endpoints: [...classicEndpoints(), ...order] });
      const r = simFor(input).process({ inPort: PORT_A, frame: ipv4Frame({ src: MAC(1), dst: MAC(9), srcIp: IP(1), dstIp: IP(9) }) });
      assert.deepEqual(r.outputs.map((o) => o.tunnel), [{ dst: '192.168.100.5', id: 10n }]);
      assert.ok(planPipeline(input).problems.some((p) => /using the one on host-z/.test(p.message)));
    }
  });

  void it('loads into the simulator, which checks prerequisites and goto order like a switch', () => {
    const sim: FlowSim = simFor(classicInput(3));
    assert.equal(sim.flows().length, 40);
    assert.equal(HOST(3), classicInput(3).hostId);
  });
});

function shuffle<T>(xs: T[], rng: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Three simulated hosts joined by an underlay: a tunnel output on one host is delivered to the host
 * whose VTEP is the frame's tun_dst, arriving on its tunnel port with tun_src and tun_id set.
 */
class Fabric {
  readonly sims = new Map<number, FlowSim>();
  /** Every frame that crossed the underlay (what a capture on it would show). */
  readonly underlay: { from: number; to: string | undefined; vni: bigint; frame: Frame }[] = [];

  constructor(hosts: number[]) {
    for (const host of hosts) this.sims.set(host, simFor(classicInput(host)));
  }

  /** Sends a frame into host `host` on `inPort`; returns where it was delivered to a local port. */
  send(host: number, inPort: number, frame: Frame): { host: number; port: number | string; frame: Frame }[] {
    const delivered: { host: number; port: number | string; frame: Frame }[] = [];
    const r = this.sims.get(host)!.process({ inPort, frame });
    for (const o of r.outputs) {
      if (o.port !== TUNNEL_PORT) {
        delivered.push({ host, port: o.port, frame: o.frame });
        continue;
      }
      this.underlay.push({ from: host, to: o.tunnel?.dst, vni: o.tunnel?.id ?? 0n, frame: o.frame });
      const peer = [...this.sims.keys()].find((h) => VTEP(h) === o.tunnel?.dst);
      if (peer === undefined) continue;
      const inner: Frame = { ...o.frame, tun_id: o.tunnel!.id, tun_src: VTEP(host) };
      delete inner.tun_dst;
      delivered.push(...this.send(peer, TUNNEL_PORT, inner));
    }
    return delivered;
  }
}

void describe('pipeline: three hosts wired together', () => {
  void it('pings within each tenant across hosts: ARP answered locally, unicast delivered once, nothing else anywhere', () => {
    const fabric = new Fabric([1, 2, 3]);
    for (const [vni, port] of [
      [10, PORT_A],
      [11, PORT_B],
    ] as const) {
      for (const src of [1, 2, 3]) {
        for (const dst of [1, 2, 3].filter((d) => d !== src)) {
          const arp = fabric.send(src, port, arpRequest({ ...h(src), target: IP(dst) }));
          assert.deepEqual(
            arp.map((d) => [d.host, d.port, d.frame.arp_op, d.frame.arp_sha]),
            [[src, port, 2, MAC(dst)]],
            `ARP ${src}->${dst} in VNI ${vni}`,
          );
          const echo = fabric.send(src, port, ipv4Frame({ src: MAC(src), dst: MAC(dst), srcIp: IP(src), dstIp: IP(dst) }));
          assert.deepEqual(
            echo.map((d) => [d.host, d.port]),
            [[dst, port]],
            `echo request ${src}->${dst} in VNI ${vni}`,
          );
          const reply = fabric.send(dst, port, ipv4Frame({ src: MAC(dst), dst: MAC(src), srcIp: IP(dst), dstIp: IP(src) }));
          assert.deepEqual(
            reply.map((d) => [d.host, d.port]),
            [[src, port]],
          );
        }
      }
    }
    // A capture on the underlay saw only unicast IPv4 with the right VNI per tenant: no ARP, no BUM.
    assert.equal(fabric.underlay.length, 2 * 6 * 2);
    for (const u of fabric.underlay) {
      assert.equal(u.frame.eth_type, ETH_TYPE.IPV4);
      assert.equal(parseInt(u.frame.eth_dst.slice(0, 2), 16) & 1, 0, 'unicast destination');
      assert.ok(u.vni === 10n || u.vni === 11n);
    }
  });

  void it('keeps chatter local: noisy frames from every container reach no other container and no underlay', () => {
    const fabric = new Fabric([1, 2, 3]);
    for (const host of [1, 2, 3]) {
      for (const port of [PORT_A, PORT_B]) {
        for (const [name, frame] of noisyFrames(host)) {
          const delivered = fabric.send(host, port, frame);
          assert.ok(
            delivered.every((d) => d.host === host && d.port === port && d.frame.arp_op === 2),
            `${name} from host ${host} port ${port} reached ${JSON.stringify(delivered.map((d) => [d.host, d.port]))}`,
          );
        }
      }
    }
    assert.deepEqual(fabric.underlay, []);
  });
});

void describe('pipeline: bad input', () => {
  void it('skips and reports values that slipped past registry validation instead of throwing', () => {
    const endpoints = [
      ...classicEndpoints(),
      endpoint({ net: 'a/net', mac: 'zz:zz:zz:zz:zz:zz', ips: [IP(7)], host: 2, port: 'x' }),
      endpoint({ net: 'a/net', mac: '01:00:5e:00:00:01', ips: [IP(8)], host: 2, port: 'x' }),
      { ...endpoint({ net: 'a/net', mac: MAC(9), ips: [IP(9), 'not-an-ip'], host: 2, port: 'x' }), vtep: 'nowhere' },
    ];
    const plan = planPipeline(classicInput(1, { endpoints, networks: [NET_A, NET_B, network('c', 'net', 0), network('d', 'net', 2 ** 24)] }));
    assert.equal(plan.flows.length, 40);
    assert.equal(plan.problems.length, 5, plan.problems.map((p) => p.message).join('\n'));
    assert.ok(plan.problems.some((p) => /VTEP "nowhere"/.test(p.message)));
    assert.ok(plan.problems.some((p) => /VNI 0 /.test(p.message)));
    const badTunnel = planPipeline(classicInput(1, { tunnelOfport: 0xfffffff8 }));
    assert.ok(!badTunnel.flows.some((f) => cookieKind(f.cookie) === 'unicast-remote'));
    assert.ok(badTunnel.problems.some((p) => /tunnel ofport/.test(p.message)));
  });
});

void describe('pipeline: flow data comparison', () => {
  void it('sameFlowData agrees with equal flowDataText on every pair of planned flows, shared objects or not', () => {
    const flows = desiredFlows(classicInput(1));
    // Rebuilt through JSON-like copies: equal data in distinct objects, bigints kept.
    const copy = (f: (typeof flows)[number]) => ({ ...f, instructions: structuredClone(f.instructions) });
    let same = 0;
    for (const a of flows) {
      for (const b of flows) {
        const want = flowDataText(a) === flowDataText(b);
        assert.equal(sameFlowData(a, copy(b)), want, `${flowIdentity(a)} vs ${flowIdentity(b)}`);
        if (want) same++;
      }
    }
    assert.ok(same > flows.length, 'some distinct flows carry the same data');
    const f = flows.find((x) => x.instructions.length > 0)!;
    assert.equal(sameFlowData(f, { ...f, cookie: f.cookie + 1n }), false, 'the cookie is part of the data');
  });
});
