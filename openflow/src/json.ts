// A JSON form of messages for tools and tests (the `ofp` CLI prints one object per message):
// bigint values become decimal strings and byte arrays become lower-case hex; fromJSON reverses
// it by field name (the codec's field names are unique enough for that: see BIGINT_KEYS/BYTES_KEYS).
import { fromHex, toHex } from './addr.js';
import { OFEncodeError } from './errors.js';
import type { OFMessage } from './messages.js';

const BIGINT_KEYS = new Set([
  'cookie', 'cookieMask', 'datapathId', 'generationId', 'metadata', 'metadataMask', 'packetCount', 'byteCount',
  'lookupCount', 'matchedCount', 'rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxDropped', 'txDropped',
  'rxErrors', 'txErrors', 'rxFrameErr', 'rxOverErr', 'rxCrcErr', 'collisions', 'packetInCount', 'byteInCount',
  'packetBandCount', 'byteBandCount', 'metadataMatch', 'metadataWrite',
]);
const BYTES_KEYS = new Set(['data', 'payload', 'properties']);
/** OXM fields whose value and mask are bigint. */
const BIGINT_OXM = new Set(['metadata', 'tunnel_id']);

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

function out(v: unknown): JsonValue {
  if (typeof v === 'bigint') return v.toString(10);
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(out);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = out(x);
    return o;
  }
  return v as JsonValue;
}

/** A JSON-safe copy of a message (JSON.stringify works on the result). */
export function toJSON(msg: OFMessage): { [k: string]: JsonValue } {
  return out(msg) as { [k: string]: JsonValue };
}

function big(v: unknown, key?: string): bigint {
  if (typeof v === 'bigint') return v;
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^\d+$/.test(v))) return BigInt(v);
  throw new OFEncodeError('OF_BAD_VALUE', `${key ? `${key}: ` : ''}expected a 64-bit value as a decimal string, got ${JSON.stringify(v)}`);
}

function back(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(back);
  if (v !== null && typeof v === 'object') {
    const src = v as Record<string, unknown>;
    const o: Record<string, unknown> = {};
    const bigOxm = typeof src.field === 'string' && BIGINT_OXM.has(src.field);
    for (const [k, x] of Object.entries(src)) {
      if (bigOxm && (k === 'value' || k === 'mask')) o[k] = big(x, `${String(src.field)}.${k}`);
      else if (BIGINT_KEYS.has(k) && (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) o[k] = big(x, k);
      else if (BYTES_KEYS.has(k) && typeof x === 'string') o[k] = fromHex(x);
      else o[k] = back(x);
    }
    return o;
  }
  return v;
}

/**
 * Rebuilds a message from its JSON form. Bad 64-bit or hex strings throw OFEncodeError; shapes are
 * not validated here: encode() checks them and throws OFEncodeError on anything it cannot write,
 * naming the field (OF_MISSING_FIELD `FLOW_MOD.cookie: missing`). No defaults are filled in: a JSON
 * message states every field, as `ofp decode` prints it.
 */
export function fromJSON(obj: unknown): OFMessage {
  return back(obj) as OFMessage;
}
