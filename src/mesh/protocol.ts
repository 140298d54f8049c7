// Mesh protocol messages (docs/mesh-protocol.md). One JSON object per WebSocket text frame, each
// validated with zod before anything acts on it. Every way a frame can be wrong has a stable code
// that goes back to the peer in a NOTIFICATION before the connection is closed.
import { z } from 'zod';
import { Ipv4, Name, ReplicatedRecord, VersionVector } from '../registry/model.js';
import { fastEndpointRecord } from './fast-record.js';

export const PROTOCOL_VERSION = 2;
// Version 2 added token records, which a version-1 agent rejects (its record union is closed), so the
// versions do not mix: an agent speaks only its own.
export const SUPPORTED_VERSIONS: readonly number[] = [2];

export const OpenMsg = z
  .object({
    type: z.literal('open'),
    version: z.number().int().positive(),
    hostId: Name,
    reflector: z.boolean(),
    holdMs: z.number().int().min(300).max(3_600_000),
    vv: VersionVector,
    /** The sender's tunnel endpoint: its live endpoint records must carry exactly this VTEP. */
    vtep: Ipv4,
  })
  .strict();

// Shared with fastUpdate below, which must accept exactly what this schema accepts.
const MAX_RECORDS = 100_000;

export const UpdateMsg = z
  .object({
    type: z.literal('update'),
    records: z.array(ReplicatedRecord).max(MAX_RECORDS),
    /** "After these records you hold everything I hold up to this vector"; absent during the initial sync. */
    vv: VersionVector.optional(),
  })
  .strict();

export const EndOfRibMsg = z
  .object({
    type: z.literal('eor'),
    vv: VersionVector,
    /** The sync carried every record (the receiver was behind a collected tombstone): prune the rest. */
    full: z.boolean(),
    /** With `full`: the sender's per-origin tombstone-collection floor, adopted by the receiver. */
    gcFloor: VersionVector.optional(),
  })
  .strict();

export const KeepaliveMsg = z.object({ type: z.literal('keepalive') }).strict();

/** Reflector -> client: the hosts this reflector has a synchronised session with. */
export const PeersMsg = z
  .object({
    type: z.literal('peers'),
    up: z.array(Name).max(10_000),
    /** The VTEP each listed host announced in its OPEN to the reflector (which checked it). */
    vteps: z.record(Name, Ipv4).refine((v) => Object.keys(v).length <= 10_000, 'at most 10000 hosts').optional(),
  })
  .strict();

export const NotificationCode = z.enum([
  'malformed-json',
  'invalid-message',
  'unsupported-frame',
  'unsupported-version',
  'fsm-error',
  'host-id-mismatch',
  'vtep-mismatch',
  'not-authorized',
  'hold-timer-expired',
  'connection-collision',
  'send-queue-overflow',
  'clock-skew',
  'internal-error',
  'shutdown',
]);
export type NotificationCode = z.infer<typeof NotificationCode>;

export const NotificationMsg = z
  .object({ type: z.literal('notification'), code: NotificationCode, reason: z.string().max(1000) })
  .strict();

export const MeshMessage = z.discriminatedUnion('type', [OpenMsg, UpdateMsg, EndOfRibMsg, KeepaliveMsg, PeersMsg, NotificationMsg]);
export type MeshMessage = z.infer<typeof MeshMessage>;
export type OpenMsg = z.infer<typeof OpenMsg>;

/** WebSocket close codes used with each notification (RFC 6455 s.7.4.1). */
export function closeCodeFor(code: NotificationCode): number {
  switch (code) {
    case 'host-id-mismatch':
    case 'vtep-mismatch':
    case 'not-authorized':
    case 'clock-skew':
      return 1008;
    case 'shutdown':
    case 'connection-collision':
      return 1001;
    case 'internal-error':
    case 'send-queue-overflow':
      return 1011;
    case 'hold-timer-expired':
      return 4000;
    default:
      return 1002;
  }
}

export class ProtocolError extends Error {
  constructor(
    readonly code: NotificationCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * UpdateMsg without zod for the records when it can (an initial sync is almost only endpoint
 * records): the same strict envelope, each endpoint record through fastEndpointRecord, any other
 * record through zod. Undefined when any part is not accepted; the caller then runs the whole
 * frame through MeshMessage, which decides and names the problem.
 */
function fastUpdate(json: Record<string, unknown>): MeshMessage | undefined {
  const { records, vv } = json;
  for (const k in json) if (k !== 'type' && k !== 'records' && k !== 'vv') return undefined;
  if (!Array.isArray(records) || records.length > MAX_RECORDS) return undefined;
  const out: ReplicatedRecord[] = new Array<ReplicatedRecord>(records.length);
  for (let i = 0; i < records.length; i++) {
    const x: unknown = records[i];
    let r: ReplicatedRecord | undefined = fastEndpointRecord(x);
    if (r === undefined) {
      const z = ReplicatedRecord.safeParse(x);
      if (!z.success) return undefined;
      r = z.data;
    }
    out[i] = r;
  }
  if (!('vv' in json)) return { type: 'update', records: out };
  const v = VersionVector.optional().safeParse(vv);
  return v.success ? { type: 'update', records: out, vv: v.data } : undefined;
}

/** Parses one text frame; throws ProtocolError with the code to send back. */
export function parseMessage(text: string): MeshMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError('malformed-json', `frame is not JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && (json as { type?: unknown }).type === 'update') {
    const fast = fastUpdate(json as Record<string, unknown>);
    if (fast) return fast;
  }
  const r = MeshMessage.safeParse(json);
  if (!r.success) {
    const first = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ProtocolError('invalid-message', `invalid message: ${first.join('; ')}`);
  }
  return r.data;
}
