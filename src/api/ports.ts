// The narrow interfaces the REST API needs from the rest of the agent. The API depends only on these,
// so it is built and tested against in-memory implementations, and the agent composition root
// (src/agent) plugs in the registry, the switch session, the reconciler and the mesh.
//
// Every method may answer synchronously or with a promise: the API awaits all of them.
import type { z } from 'zod';
import type { Endpoint, Network, Tenant } from '../registry/model.js';
import type * as S from './schemas.js';
import type { Histogram } from './metrics.js';

export type Alarm = z.infer<typeof S.Alarm>;
export type RegistryStats = z.infer<typeof S.RegistryStats>;
export type PeerInfo = z.infer<typeof S.PeerInfo>;
/** Per-network counters read from flow packet counts: the no-BUM drop flows and the ARP responder flows. */
export type NetworkCounters = z.infer<typeof S.NetworkCounters>;
export type SwitchStatus = z.infer<typeof S.SwitchStatus>;
/**
 * One flow entry, JSON-safe, with match and actions in ovs-ofctl syntax (flowView() in ovs-format.ts makes
 * one from the codec's FlowStats / FlowMod body). Packet/byte counts and duration only for installed flows.
 */
export type FlowView = z.infer<typeof S.FlowView>;

type MaybePromise<T> = T | Promise<T>;

// ---------------------------------------------------------------------------------------------
// Registry

export interface TenantInput {
  name: string;
  displayName?: string;
  quota?: { networks?: number; endpoints?: number };
}

export interface NetworkInput {
  tenant: string;
  name: string;
  cidrs: string[];
  gateway?: string;
  encap?: 'vxlan' | 'geneve' | 'gre';
  /** Absent: the registry assigns a free VNI. Only the admin may set one (the API enforces that). */
  vni?: number;
}

/** An endpoint registered on this host: the registry fills in host id, VTEP, sequence number and times. */
export interface LocalEndpointInput {
  /** "<tenant>/<network>" */
  network: string;
  mac: string;
  ips: string[];
  /** The endpoint's port name on this host's integration bridge. */
  port: string;
}

export interface EndpointFilter {
  tenant?: string;
  /** "<tenant>/<network>" */
  network?: string;
  hostId?: string;
}

/**
 * What the API needs from the registry (src/registry). Errors are recognised by their `name`:
 * "ConflictError" (409; a `holder` property, when present, is reported), "NotFoundError" (404),
 * "ValidationError" (400; optional `path` array) and "QuotaError" (403). Anything else is a 500.
 */
export interface RegistryPort {
  tenants(): MaybePromise<Tenant[]>;
  tenant(name: string): MaybePromise<Tenant | undefined>;
  createTenant(input: TenantInput): MaybePromise<Tenant>;
  /** Refuses (ConflictError) while the tenant still has networks. */
  deleteTenant(name: string): MaybePromise<void>;

  networks(filter?: { tenant?: string }): MaybePromise<Network[]>;
  network(tenant: string, name: string): MaybePromise<Network | undefined>;
  createNetwork(input: NetworkInput): MaybePromise<Network>;
  /** Refuses (ConflictError) while the network still has endpoints. */
  deleteNetwork(tenant: string, name: string): MaybePromise<void>;

  endpoints(filter?: EndpointFilter): MaybePromise<Endpoint[]>;
  /** The active endpoint (network, mac), when the port can look it up without listing. */
  endpoint?(network: string, mac: string): MaybePromise<Endpoint | undefined>;
  /** endpoints({ tenant }).length, when the port can count without listing. */
  endpointCount?(tenant: string): MaybePromise<number>;
  /**
   * Creates or replaces the endpoint (network, mac) on this host and makes it durable before returning.
   * Before the returned promise, the endpoint already counts in endpoints() (or the call has already
   * failed): the API releases its per-tenant quota lock at that point, not after the disk write.
   * Throws ConflictError naming the holder when one of the IPs is held by another MAC of the network,
   * NotFoundError when the network does not exist.
   */
  upsertLocalEndpoint(input: LocalEndpointInput): MaybePromise<{ endpoint: Endpoint; created: boolean }>;
  /** Deletes the local endpoint; NotFoundError when there is none. */
  deleteLocalEndpoint(network: string, mac: string): MaybePromise<void>;

  stats(): MaybePromise<RegistryStats>;
  alarms(): MaybePromise<Alarm[]>;
  /** Clears an alarm by id (a duplicate-MAC alarm unfreezes the MAC); NotFoundError for an unknown id. */
  clearAlarm?(id: string): MaybePromise<void>;
  /**
   * Set when the registry's store failed a commit (disk full, I/O error): the error's message. Until
   * the agent restarts, writes fail with RegistryStoreFailedError and the agent is not ready.
   */
  storeFailure?(): MaybePromise<string | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Switch status, flows, trace

export interface StatusPort {
  /** True once the agent serves traffic correctly: switch connected and first reconcile done. */
  ready(): MaybePromise<boolean>;
  status(): MaybePromise<SwitchStatus>;
  /** Durations of the reconciliations applied so far, in seconds (for /metrics). */
  reconcileDurations?(): Histogram;
}

export interface FlowsPort {
  /** Desired and installed flows (formatted with flowView() from ovs-format.ts). */
  flows(): MaybePromise<{ desired: FlowView[]; installed: FlowView[] }>;
  /**
   * Resolves once this endpoint's own local flows (endpoint key "<tenant>/<network>/<mac>", see endpointKey)
   * as of the registry's current state are confirmed installed on the local switch (barrier): installed
   * true. Installed false with a reason when they cannot be (its port is not on the bridge, the pipeline
   * refused it) or were not confirmed within timeoutMs. For a deleted endpoint: once its flows are gone.
   */
  waitInstalled(endpointKey: string, timeoutMs: number): Promise<InstallOutcome>;
}

export interface InstallOutcome {
  installed: boolean;
  /** Why not installed, e.g. "port c-h4 is not on br-int" (the flows follow when the port appears). */
  reason?: string;
}

export interface TracePort {
  /**
   * Runs `ovs-appctl ofproto/trace <bridge> <flow>` and returns its output. `flow` is in ovs microflow
   * syntax with port names (e.g. "in_port=veth-h1,arp,dl_src=...").
   */
  trace(flow: string): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Mesh

export interface MeshPort {
  peers(): MaybePromise<PeerInfo[]>;
}

// ---------------------------------------------------------------------------------------------
// Tokens

/** A stored API token: never the secret itself, only its scrypt hash. */
export interface TokenRecord {
  /** Public id, the prefix of the token string, used to find the record without hashing. */
  id: string;
  role: 'admin' | 'tenant';
  /** Set for role "tenant". */
  tenant?: string;
  /** base64 */
  salt: string;
  /** base64 scrypt(secret, salt) */
  hash: string;
  createdAt: string;
  description?: string;
}

/** A durable key-value space for token records (the registry store's `kv('tokens')`). */
export interface TokenStore {
  get(id: string): MaybePromise<TokenRecord | undefined>;
  put(id: string, record: TokenRecord): MaybePromise<void>;
  delete(id: string): MaybePromise<boolean>;
  list(): MaybePromise<TokenRecord[]>;
}
