// Fixed layouts read with binary-parser, compiled once at module load. Callers hand each parser a
// slice whose length they have already checked, so binary-parser never sees a lying length.
// The hottest structures (FLOW_MOD, PACKET_IN, flow stats, OXM, actions) are read by hand in
// decode.ts instead: binary-parser builds a DataView and deletes context keys on every parse,
// which costs more than the fields themselves on a 250-byte FLOW_MOD.
import { Parser } from 'binary-parser';

const be = (): Parser => new Parser().endianness('big');

/** ofp_port, 7.2.1 (64 bytes). */
export const PORT = be()
  .uint32('portNo').seek(4).buffer('hwAddr', { length: 6 }).seek(2).buffer('name', { length: 16 })
  .uint32('config').uint32('state').uint32('curr').uint32('advertised').uint32('supported').uint32('peer')
  .uint32('currSpeed').uint32('maxSpeed');
export interface PortRaw {
  portNo: number; hwAddr: Buffer; name: Buffer; config: number; state: number; curr: number; advertised: number;
  supported: number; peer: number; currSpeed: number; maxSpeed: number;
}
export const PORT_LEN = 64;

/** ofp_switch_features after the header, 7.3.1 (24 bytes). */
export const FEATURES = be()
  .uint64('datapathId').uint32('nBuffers').uint8('nTables').uint8('auxiliaryId').seek(2).uint32('capabilities')
  .uint32('reserved');
export interface FeaturesRaw { datapathId: bigint; nBuffers: number; nTables: number; auxiliaryId: number; capabilities: number; reserved: number }

/** ofp_flow_removed after the header up to the match, 7.4.2 (40 bytes). */
export const FLOW_REMOVED = be()
  .uint64('cookie').uint16('priority').uint8('reason').uint8('tableId').uint32('durationSec').uint32('durationNsec')
  .uint16('idleTimeout').uint16('hardTimeout').uint64('packetCount').uint64('byteCount');
export interface FlowRemovedRaw {
  cookie: bigint; priority: number; reason: number; tableId: number; durationSec: number; durationNsec: number;
  idleTimeout: number; hardTimeout: number; packetCount: bigint; byteCount: bigint;
}

/** ofp_desc, 7.3.5.1 (1056 bytes). */
export const DESC = be()
  .buffer('mfrDesc', { length: 256 }).buffer('hwDesc', { length: 256 }).buffer('swDesc', { length: 256 })
  .buffer('serialNum', { length: 32 }).buffer('dpDesc', { length: 256 });
export interface DescRaw { mfrDesc: Buffer; hwDesc: Buffer; swDesc: Buffer; serialNum: Buffer; dpDesc: Buffer }
export const DESC_LEN = 1056;

/** ofp_table_stats, 7.3.5.4 (24 bytes). */
export const TABLE_STATS = be().uint8('tableId').seek(3).uint32('activeCount').uint64('lookupCount').uint64('matchedCount');
export const TABLE_STATS_LEN = 24;

/** ofp_port_stats, 7.3.5.6 (112 bytes). */
export const PORT_STATS = be()
  .uint32('portNo').seek(4).uint64('rxPackets').uint64('txPackets').uint64('rxBytes').uint64('txBytes')
  .uint64('rxDropped').uint64('txDropped').uint64('rxErrors').uint64('txErrors').uint64('rxFrameErr')
  .uint64('rxOverErr').uint64('rxCrcErr').uint64('collisions').uint32('durationSec').uint32('durationNsec');
export const PORT_STATS_LEN = 112;

/** ofp_queue_stats, 7.3.5.8 (40 bytes). */
export const QUEUE_STATS = be()
  .uint32('portNo').uint32('queueId').uint64('txBytes').uint64('txPackets').uint64('txErrors')
  .uint32('durationSec').uint32('durationNsec');
export const QUEUE_STATS_LEN = 40;

/** ofp_group_stats up to the bucket counters, 7.3.5.9 (40 bytes). */
export const GROUP_STATS = be()
  .uint16('length').seek(2).uint32('groupId').uint32('refCount').seek(4).uint64('packetCount').uint64('byteCount')
  .uint32('durationSec').uint32('durationNsec');
export interface GroupStatsRaw {
  length: number; groupId: number; refCount: number; packetCount: bigint; byteCount: bigint; durationSec: number; durationNsec: number;
}

/** ofp_meter_stats up to the band stats, 7.3.5.12 (40 bytes). */
export const METER_STATS = be()
  .uint32('meterId').uint16('length').seek(6).uint32('flowCount').uint64('packetInCount').uint64('byteInCount')
  .uint32('durationSec').uint32('durationNsec');
export interface MeterStatsRaw {
  meterId: number; length: number; flowCount: number; packetInCount: bigint; byteInCount: bigint; durationSec: number; durationNsec: number;
}

/** ofp_table_features up to the properties, 7.3.5.5.1 (64 bytes). */
export const TABLE_FEATURES = be()
  .uint16('length').uint8('tableId').seek(5).buffer('name', { length: 32 }).uint64('metadataMatch')
  .uint64('metadataWrite').uint32('config').uint32('maxEntries');
export interface TableFeaturesRaw {
  length: number; tableId: number; name: Buffer; metadataMatch: bigint; metadataWrite: bigint; config: number; maxEntries: number;
}
export const TABLE_FEATURES_LEN = 64;

/** ofp_group_features, 7.3.5.11 (40 bytes). */
export const GROUP_FEATURES = be()
  .uint32('types').uint32('capabilities').array('maxGroups', { type: 'uint32be', length: 4 })
  .array('actions', { type: 'uint32be', length: 4 });
export const GROUP_FEATURES_LEN = 40;

/** ofp_meter_features, 7.3.5.13 (16 bytes). */
export const METER_FEATURES = be()
  .uint32('maxMeter').uint32('bandTypes').uint32('capabilities').uint8('maxBands').uint8('maxColor');
export const METER_FEATURES_LEN = 16;

/** ofp_aggregate_stats_reply, 7.3.5.3 (24 bytes). */
export const AGGREGATE = be().uint64('packetCount').uint64('byteCount').uint32('flowCount');
export const AGGREGATE_LEN = 24;
