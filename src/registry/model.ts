// The registry's data model: tenants, networks and endpoints. These zod schemas are the single
// definition shared by the durable store, the mesh protocol and the REST API (whose OpenAPI
// document is generated from them), so the three cannot drift apart.
import { z } from 'zod';
import { isIP } from 'node:net';

/** A DNS-label-like identifier: host ids, tenant and network names. */
export const Name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'lower-case letters, digits and "-", 1-63 characters, not starting or ending with "-"');

export const Mac = z
  .string()
  .regex(/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/, 'a MAC address like aa:bb:cc:dd:ee:ff')
  .transform((s) => s.toLowerCase())
  .refine((s) => (parseInt(s.slice(0, 2), 16) & 1) === 0, 'a unicast MAC (the group bit of the first octet must be 0)')
  .refine((s) => s !== '00:00:00:00:00:00', 'not the all-zero MAC');

export const Ipv4 = z.string().refine((s) => isIP(s) === 4, 'an IPv4 address like 10.0.0.1');
export const IpAddr = z.string().refine((s) => isIP(s) !== 0, 'an IPv4 or IPv6 address');
export const Cidr = z.string().refine((s) => {
  const [addr, len, ...rest] = s.split('/');
  if (rest.length || addr === undefined || len === undefined || !/^\d{1,3}$/.test(len)) return false;
  const family = isIP(addr);
  const n = Number(len);
  return (family === 4 && n <= 32) || (family === 6 && n <= 128);
}, 'a CIDR prefix like 10.10.10.0/24 or fd00::/64');

export const Vni = z.number().int().min(1).max(16777215);
export const Encap = z.enum(['vxlan', 'geneve', 'gre']);
export type Encap = z.infer<typeof Encap>;

/** Hybrid logical clock timestamp: wall-clock milliseconds, logical counter, origin host id (tie-break). */
export const Hlc = z.object({ wall: z.number().int().nonnegative(), logical: z.number().int().nonnegative(), node: Name });
export type Hlc = z.infer<typeof Hlc>;

export const Tenant = z.object({
  name: Name,
  displayName: z.string().max(200).optional(),
  quota: z
    .object({ networks: z.number().int().nonnegative(), endpoints: z.number().int().nonnegative() })
    .partial()
    .optional(),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
});
export type Tenant = z.infer<typeof Tenant>;

export const Network = z.object({
  name: Name,
  tenant: Name,
  vni: Vni,
  cidrs: z.array(Cidr).min(1).max(8),
  gateway: IpAddr.optional(),
  encap: Encap.default('vxlan'),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
});
export type Network = z.infer<typeof Network>;

export const Endpoint = z.object({
  /** Network the endpoint belongs to, as "<tenant>/<network>". */
  network: z.string().regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, '"<tenant>/<network>"'),
  mac: Mac,
  ips: z.array(IpAddr).min(1).max(16),
  hostId: Name,
  vtep: Ipv4,
  /** Name of the endpoint's port on the host's integration bridge (e.g. the veth in br-int). */
  port: z.string().min(1).max(15),
  /** MAC-mobility sequence number (RFC 7432 section 15), 32-bit, compared wrap-around safe. */
  seq: z.number().int().min(0).max(0xffffffff),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
});
export type Endpoint = z.infer<typeof Endpoint>;

/**
 * A tenant's API token as replicated: the public id and the salted scrypt hash of the secret, never
 * the secret itself. A token is valid only while its tenant lives in the incarnation it was made for
 * (`tenantCreatedAt`), so a tenant deleted and created again does not revive tokens of the old one.
 */
export const TenantToken = z.object({
  /** Public id: the "<id>" of "bl.<id>.<secret>". */
  id: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits'),
  tenant: Name,
  /** `createdAt` of the tenant the token was made for. */
  tenantCreatedAt: z.string().datetime(),
  /** base64 of the 16-byte salt. */
  salt: z.string().regex(/^[A-Za-z0-9+/]{22}==$/, 'base64 of 16 bytes'),
  /** base64 of scrypt(secret, salt), 32 bytes. */
  hash: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of 32 bytes'),
  createdAt: z.string().datetime(),
  description: z.string().max(200).optional(),
});
export type TenantToken = z.infer<typeof TenantToken>;

/** The key that identifies an endpoint cluster-wide: one MAC per network. */
export function endpointKey(e: Pick<Endpoint, 'network' | 'mac'>): string {
  return `${e.network}/${e.mac}`;
}

// ---- Replication (docs/mesh-protocol.md) ----
// Every replicated object is a record keyed as below and stamped with a "dot" (origin host,
// origin counter) and an HLC. Endpoint records are keyed per announcing host, so each key has a
// single writer (the host itself) and MAC mobility is best-path selection among them.

export const HostCounter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Per-origin version vector: origin host id -> highest counter whose effects this node holds. */
export const VersionVector = z.record(Name, HostCounter);
export type VersionVector = z.infer<typeof VersionVector>;

const RecordMeta = {
  key: z.string().min(3).max(300),
  origin: Name,
  counter: HostCounter.min(1),
  hlc: Hlc,
  /** A tombstone: the value is the last one before the deletion. */
  deleted: z.boolean().optional(),
  /** Tombstones: wall-clock ms of the deletion (its lifetime counts from here, not from the HLC). */
  deletedAt: z.number().int().nonnegative().optional(),
  /** Pruning tombstones (written after a full sync): the dot of the version they delete. */
  prunes: z.object({ origin: Name, counter: HostCounter }).optional(),
};

export const TenantRecord = z.object({ kind: z.literal('tenant'), ...RecordMeta, value: Tenant });
export const NetworkRecord = z.object({
  kind: z.literal('network'),
  ...RecordMeta,
  value: Network,
  /** HLC of the network's creation; the older claim wins a VNI conflict. */
  created: Hlc,
});
export const EndpointRecord = z.object({ kind: z.literal('endpoint'), ...RecordMeta, value: Endpoint });
export const TokenRecord = z.object({ kind: z.literal('token'), ...RecordMeta, value: TenantToken });
export const ReplicatedRecord = z.discriminatedUnion('kind', [TenantRecord, NetworkRecord, EndpointRecord, TokenRecord]);
export type TenantRecord = z.infer<typeof TenantRecord>;
export type TokenRecord = z.infer<typeof TokenRecord>;
export type NetworkRecord = z.infer<typeof NetworkRecord>;
export type EndpointRecord = z.infer<typeof EndpointRecord>;
export type ReplicatedRecord = z.infer<typeof ReplicatedRecord>;

export function tenantRecordKey(name: string): string {
  return `t/${name}`;
}
export function networkRecordKey(network: string): string {
  return `n/${network}`;
}
export function endpointRecordKey(e: Pick<Endpoint, 'network' | 'mac' | 'hostId'>): string {
  return `e/${e.network}/${e.mac}/${e.hostId}`;
}

export function tokenRecordKey(id: string): string {
  return `k/${id}`;
}

/** The key a record must have for its value (a peer cannot file a value under another key). */
export function expectedRecordKey(r: ReplicatedRecord): string {
  switch (r.kind) {
    case 'tenant':
      return tenantRecordKey(r.value.name);
    case 'network':
      return networkRecordKey(`${r.value.tenant}/${r.value.name}`);
    case 'endpoint':
      return endpointRecordKey(r.value);
    case 'token':
      return tokenRecordKey(r.value.id);
  }
}
