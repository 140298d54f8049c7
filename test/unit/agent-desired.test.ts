// The agent's per-network desired table: after every change, the table it keeps, and the table a
// reconciler holds by applying only the returned deltas, both equal a full planPipeline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, Network } from '../../src/registry/model.js';
import { desiredFlows, flowDataText, flowIdentity, networkKey } from '../../src/pipeline/index.js';
import type { DesiredFlow, HostContext } from '../../src/pipeline/index.js';
import { DesiredState } from '../../src/agent/desired.js';
import { HOST, IP, MAC, VTEP, endpoint, network } from './pipeline-fixtures.js';
import { mulberry32 } from '../support/prng.js';

const text = (flows: DesiredFlow[]) => flows.map((f) => `${flowIdentity(f)} ${flowDataText(f)}`).sort();

void describe('agent desired table (per-network deltas)', () => {
  for (const seed of [11, 12, 13, 14, 15]) {
    void it(`deltas applied in order equal a full recompute, random sequence ${seed}`, () => {
      const rng = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
      const networks = new Map<string, Network>();
      const endpoints = new Map<string, Endpoint>();
      const endpointsOf = (key: string) => [...endpoints.values()].filter((e) => e.network === key);
      let ctx: HostContext = { hostId: HOST(1), vtepIp: VTEP(1), tunnelOfport: 1, localPorts: new Map([['p1', 3], ['p2', 4]]) };
      const state = new DesiredState(ctx);
      const model = new Map<string, DesiredFlow>(state.flows().map((f) => [flowIdentity(f), f]));
      const apply = (keys: Iterable<string>) => {
        const d = state.update([...keys].map((key) => ({ key, network: networks.get(key), endpoints: endpointsOf(key) })));
        for (const f of d.remove) model.delete(flowIdentity(f));
        for (const f of d.upsert) model.set(flowIdentity(f), f);
        return d;
      };
      let nonTrivial = 0;
      for (let step = 0; step < 150; step++) {
        const op = rng();
        if (op < 0.1 || networks.size === 0) {
          // VNIs repeat on purpose (i % 4): two networks with one VNI collide, as after a registry error.
          const i = Math.floor(rng() * 6);
          const n = network(`t${i}`, 'net', 10 + (i % 4));
          networks.set(networkKey(n), n);
          apply([networkKey(n)]);
        } else if (op < 0.15) {
          const key = pick([...networks.keys()]);
          networks.delete(key);
          apply([key]);
        } else if (op < 0.6) {
          const net = pick([...networks.keys()]);
          const mac = MAC(1 + Math.floor(rng() * 8));
          const prev = endpoints.get(`${net}/${mac}`);
          const host = 1 + Math.floor(rng() * 3);
          endpoints.set(`${net}/${mac}`, endpoint({ net, mac, ips: [IP(1 + Math.floor(rng() * 8))], host, port: `p${1 + Math.floor(rng() * 3)}`, seq: (prev?.seq ?? 0) + 1 }));
          apply([net]);
        } else if (op < 0.8 && endpoints.size > 0) {
          const key = pick([...endpoints.keys()]);
          const e = endpoints.get(key)!;
          endpoints.delete(key);
          apply([e.network]);
        } else {
          const ports = new Map(ctx.localPorts);
          const name = `p${1 + Math.floor(rng() * 3)}`;
          if (ports.has(name)) ports.delete(name);
          else ports.set(name, 2 + Math.floor(rng() * 20));
          // Now and then the tunnel port is renumbered too: every remote flow changes.
          ctx = { ...ctx, localPorts: ports, ...(rng() < 0.3 && { tunnelOfport: ctx.tunnelOfport === 1 ? 5 : 1 }) };
          state.setContext(ctx);
          apply(new Set([...state.networkKeys(), ...networks.keys()]));
        }
        // Fresh copies of the endpoints: the reference never reuses flows of an earlier plan.
        const full = desiredFlows({ ...ctx, networks: [...networks.values()], endpoints: [...endpoints.values()].map((e) => ({ ...e })) });
        assert.deepEqual(text(state.flows()), text(full), `table, step ${step}`);
        assert.deepEqual(text([...model.values()]), text(full), `deltas, step ${step}`);
        if (full.length > 10) nonTrivial++;
      }
      assert.ok(nonTrivial > 30, 'the sequence reached non-trivial tables');
    });
  }

  void it('a change in one network touches only that network\'s flows; an unchanged recompute touches none', () => {
    const ctx: HostContext = { hostId: HOST(1), vtepIp: VTEP(1), tunnelOfport: 1, localPorts: new Map([['p1', 3], ['p2', 4]]) };
    const a = network('a', 'net', 10);
    const b = network('b', 'net', 11);
    const epsA = [endpoint({ net: 'a/net', mac: MAC(1), ips: [IP(1)], host: 1, port: 'p1' }), endpoint({ net: 'a/net', mac: MAC(2), ips: [IP(2)], host: 2, port: 'x' })];
    const epsB = [endpoint({ net: 'b/net', mac: MAC(1), ips: [IP(1)], host: 1, port: 'p2' })];
    const state = new DesiredState(ctx);
    const first = state.update([{ key: 'a/net', network: a, endpoints: epsA }, { key: 'b/net', network: b, endpoints: epsB }]);
    assert.equal(first.remove.length, 0);
    assert.equal(first.upsert.length, state.flows().length - 4, 'everything but the 4 global flows is new');
    assert.deepEqual(state.update([{ key: 'a/net', network: a, endpoints: [...epsA].reverse() }]), { upsert: [], remove: [] });
    // A second address for the remote endpoint of a: one ARP responder flow, nothing else, nothing in b.
    const moved = [epsA[0]!, { ...epsA[1]!, ips: [IP(2), IP(9)] }];
    const d = state.update([{ key: 'a/net', network: a, endpoints: moved }]);
    assert.equal(d.remove.length, 0);
    assert.equal(d.upsert.length, 1);
    assert.match(flowIdentity(d.upsert[0]!), /arp_tpa=10\.10\.10\.9/);
    // Withdrawing network b removes exactly its flows.
    const before = state.flows().length;
    const gone = state.update([{ key: 'b/net', network: undefined, endpoints: [] }]);
    assert.equal(gone.upsert.length, 0);
    assert.equal(state.flows().length, before - gone.remove.length);
    assert.ok(gone.remove.every((f) => ((f.cookie >> 8n) & 0xffffffn) === 11n));
  });

  void it('a recompute keeps the flow objects whose data did not change (the reconciler holds those)', () => {
    const ctx: HostContext = { hostId: HOST(1), vtepIp: VTEP(1), tunnelOfport: 1, localPorts: new Map([['p1', 3]]) };
    const a = network('a', 'net', 10);
    const eps = [endpoint({ net: 'a/net', mac: MAC(1), ips: [IP(1)], host: 1, port: 'p1' }), endpoint({ net: 'a/net', mac: MAC(2), ips: [IP(2)], host: 2, port: 'x' })];
    const state = new DesiredState(ctx);
    state.update([{ key: 'a/net', network: a, endpoints: eps }]);
    const first = new Map(state.flows().map((f) => [flowIdentity(f), f]));
    const d = state.update([{ key: 'a/net', network: a, endpoints: [eps[0]!, { ...eps[1]!, vtep: VTEP(3) }] }]);
    // The remote endpoint's unicast flow and the tunnel classification of the new VTEP.
    assert.equal(d.upsert.length, 2);
    let kept = 0;
    for (const f of state.flows()) {
      const id = flowIdentity(f);
      if (d.upsert.some((u) => flowIdentity(u) === id)) assert.notEqual(f, first.get(id));
      else {
        assert.equal(f, first.get(id), `${id} is the same object`);
        kept++;
      }
    }
    // All but the unicast flow and the old VTEP's classification (removed).
    assert.equal(kept, first.size - 2);
  });
});
