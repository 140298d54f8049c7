// Incremental recomputation (only the networks a change touched) must always equal a full recompute.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, Network } from '../../src/registry/model.js';
import { PipelineBook, desiredFlows, planPipeline, networkKey } from '../../src/pipeline/index.js';
import type { HostContext } from '../../src/pipeline/index.js';
import { HOST, IP, MAC, VTEP, endpoint, network } from './pipeline-fixtures.js';
import { mulberry32 } from '../support/prng.js';

/** A registry double that reports which networks each change touched, as the real registry's events do. */
class World {
  networks = new Map<string, Network>();
  endpoints = new Map<string, Endpoint>(); // key network/mac
  endpointsOf(key: string): Endpoint[] {
    return [...this.endpoints.values()].filter((e) => e.network === key);
  }
}

void describe('incremental pipeline', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    void it(`equals a full recompute after every step of random change sequence ${seed}`, () => {
      const rng = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
      const world = new World();
      let ctx: HostContext = { hostId: HOST(1), vtepIp: VTEP(1), tunnelOfport: 1, localPorts: new Map([['p1', 3]]) };
      const book = new PipelineBook(ctx);
      const full = () => desiredFlows({ ...ctx, networks: [...world.networks.values()], endpoints: [...world.endpoints.values()] });
      const touch = (key: string) => book.update(key, world.networks.get(key), world.endpointsOf(key));
      let changedSteps = 0;

      for (let step = 0; step < 150; step++) {
        const op = rng();
        if (op < 0.1 || world.networks.size === 0) {
          const i = Math.floor(rng() * 6);
          const n = network(`t${i}`, 'net', 10 + i);
          world.networks.set(networkKey(n), n);
          touch(networkKey(n));
        } else if (op < 0.14) {
          const key = pick([...world.networks.keys()]);
          world.networks.delete(key);
          touch(key);
        } else if (op < 0.55) {
          const net = pick([...world.networks.keys()]);
          const mac = MAC(1 + Math.floor(rng() * 8));
          const host = 1 + Math.floor(rng() * 4);
          const prev = world.endpoints.get(`${net}/${mac}`);
          const e = endpoint({ net, mac, ips: [IP(1 + Math.floor(rng() * 8)), ...(rng() < 0.3 ? [`fd00::${Math.floor(rng() * 8)}`] : [])], host, port: `p${1 + Math.floor(rng() * 3)}`, seq: (prev?.seq ?? 0) + 1 });
          world.endpoints.set(`${net}/${mac}`, e);
          touch(net);
        } else if (op < 0.75 && world.endpoints.size > 0) {
          const key = pick([...world.endpoints.keys()]);
          const e = world.endpoints.get(key)!;
          world.endpoints.delete(key);
          touch(e.network);
        } else if (op < 0.9) {
          // A port appears or disappears, or the tunnel port is renumbered: the host context changes.
          const ports = new Map(ctx.localPorts);
          const name = `p${1 + Math.floor(rng() * 3)}`;
          if (ports.has(name)) ports.delete(name);
          else ports.set(name, 2 + Math.floor(rng() * 20));
          ctx = { ...ctx, localPorts: ports, tunnelOfport: rng() < 0.1 ? undefined : 1 };
          book.reset(ctx, world.networks.values(), (k) => world.endpointsOf(k));
        } else {
          // An endpoint moves to another host with a higher sequence number.
          if (world.endpoints.size === 0) continue;
          const key = pick([...world.endpoints.keys()]);
          const e = world.endpoints.get(key)!;
          const host = 1 + Math.floor(rng() * 4);
          world.endpoints.set(key, { ...e, hostId: HOST(host), vtep: VTEP(host), seq: e.seq + 1 });
          touch(e.network);
        }
        const expected = full();
        assert.deepEqual(book.flows(), expected, `step ${step}`);
        if (expected.length > 4) changedSteps++;
      }
      assert.ok(changedSteps > 30, 'the sequence exercised non-trivial states');
    });
  }

  void it('reports whether a network\'s flows changed, and problems like the full plan', () => {
    const ctx: HostContext = { hostId: HOST(1), vtepIp: VTEP(1), tunnelOfport: 1, localPorts: new Map([['p1', 3]]) };
    const n = network('a', 'net', 10);
    const eps = [endpoint({ net: 'a/net', mac: MAC(1), ips: [IP(1)], host: 1, port: 'p1' }), endpoint({ net: 'a/net', mac: MAC(2), ips: [IP(1)], host: 2, port: 'p1' })];
    const book = new PipelineBook(ctx);
    assert.equal(book.update('a/net', n, eps), true);
    assert.equal(book.update('a/net', n, [...eps].reverse()), false);
    assert.deepEqual(book.plan(), planPipeline({ ...ctx, networks: [n], endpoints: eps }));
    assert.equal(book.plan().problems.length, 1);
    assert.equal(book.update('a/net', undefined, []), true);
    assert.equal(book.flows().length, 4);
  });
});
