// Adapters from the registry (src/registry) to the API's ports: the Registry as a RegistryPort and the
// store's durable keyspace as the TokenStore.
import type { Registry } from '../registry/registry.js';
import type { KvSpace, Store } from '../registry/store.js';
import type { RegistryPort, TokenRecord, TokenStore } from './ports.js';

export function registryPort(r: Registry): RegistryPort {
  return {
    tenants: () => r.tenants(),
    tenant: (name) => r.tenant(name),
    createTenant: (input) => r.createTenant(input),
    deleteTenant: (name) => r.deleteTenant(name),
    networks: (filter) => r.networks(filter?.tenant),
    network: (tenant, name) => r.network(tenant, name),
    createNetwork: (input) => r.createNetwork(input),
    deleteNetwork: (tenant, name) => r.deleteNetwork(tenant, name),
    endpoints: (filter) => r.endpoints(filter ?? {}),
    upsertLocalEndpoint: (input) => r.upsertLocalEndpoint(input),
    deleteLocalEndpoint: (network, mac) => r.deleteLocalEndpoint(network, mac),
    stats: () => {
      const s = r.stats();
      return { tenants: s.tenants, networks: s.networks, endpoints: s.endpoints.active, localEndpoints: s.endpoints.local, staleEndpoints: s.endpoints.stale };
    },
    alarms: () => r.alarms().map((a) => ({ id: a.id, kind: a.kind, subject: a.key, message: a.message, since: a.since })),
    clearAlarm: (id) => r.clearAlarm(id),
  };
}

export function kvTokenStore(kv: KvSpace<TokenRecord>): TokenStore {
  return {
    get: (id) => kv.get(id),
    put: (id, record) => kv.put(id, record),
    delete: (id) => kv.delete(id),
    list: () => kv.entries().map((e) => e.value),
  };
}

/** The API's tokens in the registry's database (keyspace "tokens"), durable like registrations. */
export function storeTokens(store: Store): TokenStore {
  return kvTokenStore(store.kv<TokenRecord>('tokens'));
}
