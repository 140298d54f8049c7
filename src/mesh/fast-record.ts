// A hand-written validator for the mesh's hot record shape, the live or deleted endpoint record: a
// full sync of 100,000 endpoints spent more time in zod (per record: about twenty schema nodes, four
// Name regexes, two datetime regexes, closures and issue arrays) than in JSON.parse. It checks exactly
// what `EndpointRecord` (src/registry/model.ts) checks, with the same patterns, and builds the same
// output (unknown fields dropped, keys in schema order, the MAC in lower case). It only ever says
// "valid, here is the value" or "not sure": anything it does not accept goes through zod, which then
// accepts it or produces the error message. test/unit/mesh-fast-record.test.ts compares both on
// valid, mutated and random records.
import { isIP } from 'node:net';
import { regexes } from 'zod/v4/core';
import type { EndpointRecord } from '../registry/model.js';
import { MAC_RE, NAME_RE, NETWORK_REF_RE } from '../registry/model.js';

// z.string().datetime() with its defaults: UTC ("Z") only, any sub-second precision.
const DATETIME_RE = regexes.datetime({});

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && NAME_RE.test(v);
/** z.number().int().nonnegative() (int = a safe integer). */
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isDateTime = (v: unknown): v is string => typeof v === 'string' && DATETIME_RE.test(v);

/** The validated copy of an endpoint record, or undefined when zod must decide. */
export function fastEndpointRecord(x: unknown): EndpointRecord | undefined {
  if (!isObj(x) || x.kind !== 'endpoint') return undefined;
  const { key, origin, counter, hlc, deleted, deletedAt, prunes, value } = x;
  if (typeof key !== 'string' || key.length < 3 || key.length > 300) return undefined;
  if (!isName(origin) || !isCount(counter) || counter < 1) return undefined;
  if (!isObj(hlc) || !isCount(hlc.wall) || !isCount(hlc.logical) || !isName(hlc.node)) return undefined;
  if (deleted !== undefined && typeof deleted !== 'boolean') return undefined;
  if (deletedAt !== undefined && !isCount(deletedAt)) return undefined;
  if (prunes !== undefined && (!isObj(prunes) || !isName(prunes.origin) || !isCount(prunes.counter))) return undefined;
  if (!isObj(value)) return undefined;
  const { network, mac, ips, hostId, vtep, port, seq, createdAt, updatedAt } = value;
  if (typeof network !== 'string' || !NETWORK_REF_RE.test(network)) return undefined;
  if (typeof mac !== 'string' || !MAC_RE.test(mac)) return undefined;
  const lmac = mac.toLowerCase();
  if ((parseInt(lmac.slice(0, 2), 16) & 1) !== 0 || lmac === '00:00:00:00:00:00') return undefined;
  if (!Array.isArray(ips) || ips.length < 1 || ips.length > 16) return undefined;
  for (const ip of ips as unknown[]) if (typeof ip !== 'string' || isIP(ip) === 0) return undefined;
  if (!isName(hostId) || typeof vtep !== 'string' || isIP(vtep) !== 4) return undefined;
  if (typeof port !== 'string' || port.length < 1 || port.length > 15) return undefined;
  if (!isCount(seq) || seq > 0xffffffff || !isDateTime(createdAt) || !isDateTime(updatedAt)) return undefined;
  const v = { network, mac: lmac, ips: [...(ips as string[])], hostId, vtep, port, seq, createdAt, updatedAt };
  const h = { wall: hlc.wall, logical: hlc.logical, node: hlc.node };
  // The common record (no optional key) is built in one literal: its fields then all lie inside the
  // object; adding `value` afterwards put it in a separate property array (~40 B more per record
  // the registry keeps, bench B4).
  if (!('deleted' in x) && !('deletedAt' in x) && !('prunes' in x)) return { kind: 'endpoint', key, origin, counter, hlc: h, value: v };
  // zod keeps an optional key that is present (even as undefined) and leaves out an absent one.
  const r: EndpointRecord = { kind: 'endpoint', key, origin, counter, hlc: h } as EndpointRecord;
  if ('deleted' in x) r.deleted = deleted;
  if ('deletedAt' in x) r.deletedAt = deletedAt;
  if ('prunes' in x) r.prunes = prunes === undefined ? undefined : { origin: prunes.origin as string, counter: prunes.counter as number };
  r.value = v;
  return r;
}
