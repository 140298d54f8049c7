// The registry's data model: tenants, networks and endpoints. These zod schemas are the single
// definition shared by the durable store, the mesh protocol and the REST API (whose OpenAPI
// document is generated from them), so the three cannot drift apart.
import { z } from 'zod';
import { isIP } from 'node:net';
import { formatIpv6 } from 'node-openflow';

// The patterns are exported for the mesh's fast path (src/mesh/fast-record.ts), which must accept
// exactly what these schemas accept.
export const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
export const NETWORK_REF_RE = /^[a-z0-9-]+\/[a-z0-9-]+$/;

/** A DNS-label-like identifier: host ids, tenant and network names. */
export const Name = z.string().regex(NAME_RE, 'lower-case letters, digits and "-", 1-63 characters, not starting or ending with "-"');

export const Mac = z
  .string()
  .regex(MAC_RE, 'a MAC address like aa:bb:cc:dd:ee:ff')
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

// ---- Address rules for what tenants create (the API's input schemas use these) ----
// The stored and replicated model above stays as lax as it was, so records written by an older agent
// still load; new networks and endpoints are held to these rules:
// - a prefix is written canonically (no host bits: 10.20.0.0/24, not 10.20.0.1/24);
// - no prefix wider than /8 (IPv4) or /16 (IPv6): 0.0.0.0/0, ::/0 and other near-default routes are
//   not a tenant subnet, and would swallow every address of the ARP responder and port security;
// - the gateway lies inside one of the prefixes and is not an IPv4 network or broadcast address;
// - an endpoint lists each address once, and none is the network or broadcast address of an IPv4
//   prefix shorter than /31 (RFC 3021 point-to-point /31 and host /32 prefixes have neither).
export const MIN_PREFIX = { 4: 8, 6: 16 } as const;

/** An IP address as a family and an unsigned integer, or undefined when it is not one. */
export function ipValue(ip: string): { family: 4 | 6; value: bigint } | undefined {
  const family = isIP(ip);
  if (family === 4) return { family, value: ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n) };
  if (family !== 6) return undefined;
  let text = ip.split('%')[0]!;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipValue(v4[1]!)!.value;
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = tail === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  return { family, value: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** The text of an address value: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as "::"). */
export function ipText(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number((value >> BigInt((15 - i) * 8)) & 0xffn);
  return formatIpv6(bytes, 0);
}

/** The canonical text of an address (for comparing IPv6 addresses written differently). */
export function canonicalIp(ip: string): string {
  const v = ipValue(ip);
  return v ? ipText(v.family, v.value) : ip;
}

interface Prefix {
  family: 4 | 6;
  len: number;
  /** The network address (host bits cleared). */
  base: bigint;
  /** The address as written. */
  value: bigint;
  bits: number;
}

function prefix(cidr: string): Prefix | undefined {
  const [addr, lenText] = cidr.split('/');
  const v = addr === undefined ? undefined : ipValue(addr);
  if (!v || lenText === undefined || !/^\d{1,3}$/.test(lenText)) return undefined;
  const bits = v.family === 4 ? 32 : 128;
  const len = Number(lenText);
  if (len > bits) return undefined;
  const host = (1n << BigInt(bits - len)) - 1n;
  return { family: v.family, len, base: v.value & ~host, value: v.value, bits };
}

/** Why a tenant may not use this prefix (host bits set, too wide), or undefined when it is fine. */
export function cidrProblem(cidr: string): string | undefined {
  const p = prefix(cidr);
  if (!p) return 'a CIDR prefix like 10.10.10.0/24 or fd00::/64';
  const min = MIN_PREFIX[p.family];
  if (p.len < min) return `${cidr} is wider than /${min}; a tenant network is a subnet, e.g. 10.10.10.0/24${p.family === 6 ? ' or fd00:10::/64' : ''}`;
  if (p.base !== p.value) return `${cidr} has host bits set; write the prefix as ${ipText(p.family, p.base)}/${p.len}`;
  return undefined;
}

/** True when the address lies inside the prefix (false for another family or bad input). */
export function ipInCidr(ip: string, cidr: string): boolean {
  const v = ipValue(ip);
  const p = prefix(cidr);
  if (!v || !p || v.family !== p.family) return false;
  return v.value >> BigInt(p.bits - p.len) === p.base >> BigInt(p.bits - p.len);
}

/** "network" or "broadcast" when the IPv4 address is that address of the prefix (prefixes up to /30). */
export function reservedIpv4(ip: string, cidr: string): 'network' | 'broadcast' | undefined {
  const p = prefix(cidr);
  const v = ipValue(ip);
  if (!p || !v || p.family !== 4 || v.family !== 4 || p.len >= 31 || !ipInCidr(ip, cidr)) return undefined;
  if (v.value === p.base) return 'network';
  if (v.value === (p.base | ((1n << BigInt(32 - p.len)) - 1n))) return 'broadcast';
  return undefined;
}

/** Why an address cannot be a host address of these prefixes, or undefined when it can. */
export function hostAddressProblem(ip: string, cidrs: readonly string[]): string | undefined {
  const inside = cidrs.filter((c) => ipInCidr(ip, c));
  if (inside.length === 0) return `${ip} is not inside the network's prefixes ${cidrs.join(', ')}`;
  for (const c of inside) {
    const r = reservedIpv4(ip, c);
    if (r) return `${ip} is the ${r} address of ${c}; use a host address between them`;
  }
  return undefined;
}

/** A prefix a tenant may create: valid, canonical, not wider than MIN_PREFIX. */
export const TenantCidr = Cidr.superRefine((s, ctx) => {
  // Cidr's own check already reported a malformed prefix.
  const why = prefix(s) ? cidrProblem(s) : undefined;
  if (why) ctx.addIssue({ code: 'custom', message: why });
});

/** Issues for addresses listed twice (IPv6 compared canonically), at the later position. */
export function duplicateIps(ips: readonly string[]): { index: number; message: string }[] {
  const seen = new Map<string, number>();
  const out: { index: number; message: string }[] = [];
  ips.forEach((ip, i) => {
    const c = canonicalIp(ip);
    const first = seen.get(c);
    if (first === undefined) seen.set(c, i);
    else out.push({ index: i, message: `${ip} is listed twice (also ips.${first}); list each address once` });
  });
  return out;
}

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
  network: z.string().regex(NETWORK_REF_RE, '"<tenant>/<network>"'),
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
