// Adapters from the registry (src/registry) to the API's ports: the Registry as a RegistryPort and as
// the TokenStore (tenant tokens are replicated records, so a token made on one agent works on all).
import { NotFoundError } from '../registry/errors.js';
import type { TenantToken } from '../registry/model.js';
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
    endpoint: (network, mac) => r.endpoint(network, mac),
    endpointCount: (tenant) => r.endpointCount(tenant),
    upsertLocalEndpoint: (input) => r.upsertLocalEndpoint(input),
    deleteLocalEndpoint: (network, mac) => r.deleteLocalEndpoint(network, mac),
    stats: () => {
      const s = r.stats();
      return { tenants: s.tenants, networks: s.networks, endpoints: s.endpoints.active, localEndpoints: s.endpoints.local, staleEndpoints: s.endpoints.stale };
    },
    alarms: () => r.alarms().map((a) => ({ id: a.id, kind: a.kind, subject: a.key, message: a.message, since: a.since, raisedBy: a.raisedBy })),
    clearAlarm: (id) => r.clearAlarm(id),
    storeFailure: () => r.storeFailure()?.message,
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

/**
 * A generic keyspace of the registry's database as a TokenStore: tokens kept by this agent only.
 * The agent uses registryTokens(); this is for tools and tests that need per-store tokens.
 */
export function storeTokens(store: Store, name = 'agent-tokens'): TokenStore {
  return kvTokenStore(store.kv<TokenRecord>(name));
}

function tokenOf(t: TenantToken): TokenRecord {
  return {
    id: t.id,
    role: 'tenant',
    tenant: t.tenant,
    salt: t.salt,
    hash: t.hash,
    createdAt: t.createdAt,
    ...(t.description !== undefined ? { description: t.description } : {}),
  };
}

/**
 * Tenant tokens as replicated registry records (only the salted scrypt hash travels). Writes resolve
 * once durable locally; other agents accept the token as soon as the mesh has carried it. Only tenant
 * tokens replicate: the admin token is each agent's file.
 */
export function registryTokens(r: Registry): TokenStore {
  return {
    get: (id) => {
      const t = r.token(id);
      return t && tokenOf(t);
    },
    put: async (id, record) => {
      if (record.role !== 'tenant' || record.tenant === undefined || record.id !== id) {
        throw new Error(`only tenant tokens are stored in the registry (got role ${record.role} for id ${id})`);
      }
      await r.createToken({
        id,
        tenant: record.tenant,
        salt: record.salt,
        hash: record.hash,
        createdAt: record.createdAt,
        ...(record.description !== undefined ? { description: record.description } : {}),
      });
    },
    delete: async (id) => {
      try {
        await r.revokeToken(id);
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    },
    list: () => r.tokens().map(tokenOf),
  };
}
