// A synthetic registry of the size a benchmark needs, in the registry's own model: networks of one
// tenant, one local endpoint per network on the host under test (so the pipeline installs the
// network at all) and remote endpoints spread over a few VTEPs. desiredFlows() of it gives flows of
// the pipeline's real shapes; flowsFor() sizes it for a target flow count.
import type { Endpoint, Network } from '../../src/registry/model.js';

const STAMP = '2026-01-01T00:00:00.000Z';

export interface GenOptions {
  hostId: string;
  vtepIp: string;
  networks: number;
  remotePerNetwork: number;
  /** VTEPs of the remote endpoints (round robin). */
  remoteVteps: string[];
  tenant?: string;
  /** First OpenFlow port number of the local endpoints' ports (one port per network). */
  firstOfport?: number;
}

export interface GenRegistry {
  networks: Network[];
  endpoints: Endpoint[];
  localPorts: Map<string, number>;
}

export function macOf(i: number): string {
  // Locally administered unicast: 02:xx...
  return ['02', ...[24, 16, 8, 0].map((s) => ((i >>> s) & 0xff).toString(16).padStart(2, '0')), '01'].join(':');
}

export function generateRegistry(o: GenOptions): GenRegistry {
  if (o.networks < 1 || o.networks > 250) throw new RangeError(`networks ${o.networks}: use 1..250 (one /16 of 10.0.0.0/8 each)`);
  if (o.remotePerNetwork < 0 || o.remotePerNetwork > 65000) throw new RangeError(`remotePerNetwork ${o.remotePerNetwork}: use 0..65000`);
  if (o.remotePerNetwork > 0 && o.remoteVteps.length === 0) throw new RangeError('remote endpoints need at least one remote VTEP');
  const tenant = o.tenant ?? 'bench';
  const networks: Network[] = [];
  const endpoints: Endpoint[] = [];
  const localPorts = new Map<string, number>();
  let serial = 0;
  for (let k = 0; k < o.networks; k++) {
    const name = `n${k}`;
    networks.push({ name, tenant, vni: 1000 + k, cidrs: [`10.${k}.0.0/16`], encap: 'vxlan', createdAt: STAMP, updatedAt: STAMP });
    const ep = (j: number, hostId: string, vtep: string, port: string): Endpoint => ({
      network: `${tenant}/${name}`,
      mac: macOf(serial++),
      ips: [`10.${k}.${(j >> 8) & 0xff}.${j & 0xff}`],
      hostId,
      vtep,
      port,
      seq: 0,
      createdAt: STAMP,
      updatedAt: STAMP,
    });
    const port = `p${k}`;
    localPorts.set(port, (o.firstOfport ?? 100) + k);
    endpoints.push(ep(1, o.hostId, o.vtepIp, port));
    for (let j = 0; j < o.remotePerNetwork; j++) {
      const v = o.remoteVteps[j % o.remoteVteps.length]!;
      endpoints.push(ep(j + 2, `r${j % o.remoteVteps.length}`, v, `q${j}`));
    }
  }
  return { networks, endpoints, localPorts };
}

/**
 * Sizes a registry for about `flows` flows: per network 14 fixed flows (6 for the local endpoint, its
 * ARP answer, 5 drops, one tunnel classifier per VTEP with 2 VTEPs) plus 2 per remote endpoint
 * (unicast to the tunnel, ARP answer).
 */
export function sizeFor(flows: number, networks = 100, vteps = 2): { networks: number; remotePerNetwork: number } {
  const fixed = networks * (12 + vteps);
  const remote = Math.max(0, Math.ceil((flows - fixed) / 2 / networks));
  return { networks, remotePerNetwork: remote };
}
