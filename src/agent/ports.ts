// Adapters from the registry and its store to the narrow ports the REST API declares (src/api/ports.ts).
// They translate shapes only; every rule (ownership, conflicts, quotas) stays in the registry.
import type { Alarm, EndpointFilter, LocalEndpointInput, NetworkInput, RegistryPort, RegistryStats, TenantInput, TokenRecord, TokenStore } from '../api/ports.js';
import type { Endpoint, Network, Tenant } from '../registry/model.js';
import type { Registry } from '../registry/registry.js';
import type { KvSpace } from '../registry/store.js';

/** Drops the registry's internal flags (stale, vniConflictWith) from what the API returns. */
function plainEndpoint(e: Endpoint & { stale?: boolean }): Endpoint {
  const { stale: _stale, ...rest } = e;
  return rest;
}

function plainNetwork(n: Network & { vniConflictWith?: string }): Network {
  const { vniConflictWith: _c, ...rest } = n;
  return rest;
}

export class RegistryAdapter implements RegistryPort {
  constructor(private readonly r: Registry) {}

  tenants(): Tenant[] {
    return this.r.tenants();
  }
  tenant(name: string): Tenant | undefined {
    return this.r.tenant(name);
  }
  createTenant(input: TenantInput): Promise<Tenant> {
    return this.r.createTenant(input);
  }
  deleteTenant(name: string): Promise<void> {
    return this.r.deleteTenant(name);
  }
  networks(filter?: { tenant?: string }): Network[] {
    return this.r.networks(filter?.tenant).map(plainNetwork);
  }
  network(tenant: string, name: string): Network | undefined {
    const n = this.r.network(tenant, name);
    return n && plainNetwork(n);
  }
  createNetwork(input: NetworkInput): Promise<Network> {
    return this.r.createNetwork(input);
  }
  deleteNetwork(tenant: string, name: string): Promise<void> {
    return this.r.deleteNetwork(tenant, name);
  }
  endpoints(filter: EndpointFilter = {}): Endpoint[] {
    return this.r
      .endpoints({
        ...(filter.tenant !== undefined ? { tenant: filter.tenant } : {}),
        ...(filter.network !== undefined ? { network: filter.network } : {}),
        ...(filter.hostId !== undefined ? { hostId: filter.hostId } : {}),
      })
      .map(plainEndpoint);
  }
  upsertLocalEndpoint(input: LocalEndpointInput): Promise<{ endpoint: Endpoint; created: boolean }> {
    return this.r.upsertLocalEndpoint(input);
  }
  deleteLocalEndpoint(network: string, mac: string): Promise<void> {
    return this.r.deleteLocalEndpoint(network, mac);
  }
  stats(): RegistryStats {
    const s = this.r.stats();
    return { tenants: s.tenants, networks: s.networks, endpoints: s.endpoints.active, localEndpoints: s.endpoints.local, staleEndpoints: s.endpoints.stale };
  }
  alarms(): Alarm[] {
    return this.r.alarms().map((a) => ({ kind: a.kind, subject: a.key, message: a.message, since: a.since }));
  }
}

/** API tokens (scrypt hashes only) in the registry's database, keyspace "tokens". */
export class TokenKv implements TokenStore {
  constructor(private readonly kv: KvSpace<TokenRecord>) {}

  get(id: string): TokenRecord | undefined {
    return this.kv.get(id);
  }
  put(id: string, record: TokenRecord): Promise<void> {
    return this.kv.put(id, record);
  }
  delete(id: string): Promise<boolean> {
    return this.kv.delete(id);
  }
  list(): TokenRecord[] {
    return this.kv.entries().map((e) => e.value);
  }
}
