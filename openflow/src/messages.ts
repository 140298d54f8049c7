// The message union: one object per OpenFlow message, discriminated on `type` (the OFPT_* name
// without prefix), body fields flattened next to `xid`. Multipart messages are further
// discriminated on `mpType`. Section numbers refer to OpenFlow 1.3.5.
import type {
  BundleCtrlType, BundleFlag, Capability, ControllerRole, ErrorTypeName, FlowRemovedReason, GroupModCommand,
  GroupType, MeterFlag, MeterId, MeterModCommand, PacketInReason, PortConfigFlag, PortFeature, PortReason,
  PortStateFlag, QueueId,
} from './consts.js';
import type { Action, BufferId, FlowModBody, FlowStats, GroupId, Match, OxmFieldName, PortNo, TableId } from './types.js';

export type {
  BundleCtrlType, BundleFlag, Capability, ControllerRole, ErrorTypeName, FlowRemovedReason, GroupModCommand,
  GroupType, MeterFlag, MeterId, MeterModCommand, PacketInReason, PortConfigFlag, PortFeature, PortReason,
  PortStateFlag, QueueId,
};

interface Base {
  xid: number;
}

/** Hello element (7.5.1): version bitmap, or any other element kept raw. */
export type HelloElement =
  | { type: 'VERSIONBITMAP'; versions: number[] }
  | { type: number; data: Uint8Array };

export interface HelloMessage extends Base {
  type: 'HELLO';
  /** Header version: a peer advertises its highest version here, so HELLO is accepted in any version. */
  version?: number;
  elements: HelloElement[];
}

/** 7.4.4. errType/code are names when the spec defines them; EXPERIMENTER errors carry expType + experimenter. */
export interface ErrorMessage extends Base {
  type: 'ERROR';
  /** Header version when not 4: a peer that refuses OpenFlow 1.3 may answer HELLO_FAILED in its own version. */
  version?: number;
  errType: ErrorTypeName | number;
  code: string | number;
  experimenter?: number;
  data: Uint8Array;
}

export interface EchoRequestMessage extends Base { type: 'ECHO_REQUEST'; data: Uint8Array }
export interface EchoReplyMessage extends Base { type: 'ECHO_REPLY'; data: Uint8Array }
export interface ExperimenterMessage extends Base { type: 'EXPERIMENTER'; experimenter: number; expType: number; data: Uint8Array }
export interface FeaturesRequestMessage extends Base { type: 'FEATURES_REQUEST' }
export interface FeaturesReplyMessage extends Base {
  type: 'FEATURES_REPLY';
  datapathId: bigint;
  nBuffers: number;
  nTables: number;
  auxiliaryId: number;
  capabilities: Capability[];
  reserved: number;
}
export interface GetConfigRequestMessage extends Base { type: 'GET_CONFIG_REQUEST' }
/** 7.3.2: flags = OFPC_FRAG_* (0 normal, 1 drop, 2 reassemble); missSendLen may be 'NO_BUFFER' (0xffff). */
export interface SwitchConfig { flags: number; missSendLen: number | 'NO_BUFFER' }
export interface GetConfigReplyMessage extends Base, SwitchConfig { type: 'GET_CONFIG_REPLY' }
export interface SetConfigMessage extends Base, SwitchConfig { type: 'SET_CONFIG' }

export interface PacketInMessage extends Base {
  type: 'PACKET_IN';
  bufferId: BufferId;
  totalLen: number;
  reason: PacketInReason | number;
  tableId: number;
  cookie: bigint;
  match: Match;
  data: Uint8Array;
}

export interface FlowRemovedMessage extends Base {
  type: 'FLOW_REMOVED';
  cookie: bigint;
  priority: number;
  reason: FlowRemovedReason | number;
  tableId: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
}

/** ofp_port, 7.2.1. */
export interface PortDesc {
  portNo: PortNo;
  hwAddr: string;
  name: string;
  config: PortConfigFlag[];
  state: PortStateFlag[];
  curr: PortFeature[];
  advertised: PortFeature[];
  supported: PortFeature[];
  peer: PortFeature[];
  currSpeed: number;
  maxSpeed: number;
}

export interface PortStatusMessage extends Base { type: 'PORT_STATUS'; reason: PortReason | number; port: PortDesc }

export interface PacketOutMessage extends Base {
  type: 'PACKET_OUT';
  bufferId: BufferId;
  inPort: PortNo;
  actions: Action[];
  data: Uint8Array;
}

export interface FlowModMessage extends Base, FlowModBody { type: 'FLOW_MOD' }

/** ofp_bucket, 7.3.4.3. */
export interface Bucket {
  weight: number;
  watchPort: PortNo;
  watchGroup: GroupId;
  actions: Action[];
}

export interface GroupModMessage extends Base {
  type: 'GROUP_MOD';
  command: GroupModCommand;
  groupType: GroupType;
  groupId: GroupId;
  buckets: Bucket[];
}

export interface PortModMessage extends Base {
  type: 'PORT_MOD';
  portNo: PortNo;
  hwAddr: string;
  config: PortConfigFlag[];
  mask: PortConfigFlag[];
  advertise: PortFeature[];
}

export interface TableModMessage extends Base { type: 'TABLE_MOD'; tableId: TableId; config: number }

export interface BarrierRequestMessage extends Base { type: 'BARRIER_REQUEST' }
export interface BarrierReplyMessage extends Base { type: 'BARRIER_REPLY' }

/** Queue properties, 7.3.6 (ofp_queue_prop_*). */
export type QueueProp =
  | { property: 'MIN_RATE'; rate: number }
  | { property: 'MAX_RATE'; rate: number }
  | { property: 'EXPERIMENTER'; experimenter: number; data: Uint8Array }
  | { property: number; data: Uint8Array };

export interface PacketQueue { queueId: number; port: PortNo; properties: QueueProp[] }

export interface QueueGetConfigRequestMessage extends Base { type: 'QUEUE_GET_CONFIG_REQUEST'; port: PortNo }
export interface QueueGetConfigReplyMessage extends Base { type: 'QUEUE_GET_CONFIG_REPLY'; port: PortNo; queues: PacketQueue[] }

export interface RoleRequestMessage extends Base { type: 'ROLE_REQUEST'; role: ControllerRole | number; generationId: bigint }
export interface RoleReplyMessage extends Base { type: 'ROLE_REPLY'; role: ControllerRole | number; generationId: bigint }

/** ofp_async_config, 7.3.10: [master/equal, slave] bit masks of reasons. */
export interface AsyncConfig {
  packetInMask: [number, number];
  portStatusMask: [number, number];
  flowRemovedMask: [number, number];
}
export interface GetAsyncRequestMessage extends Base { type: 'GET_ASYNC_REQUEST' }
export interface GetAsyncReplyMessage extends Base, AsyncConfig { type: 'GET_ASYNC_REPLY' }
export interface SetAsyncMessage extends Base, AsyncConfig { type: 'SET_ASYNC' }

/** Meter bands, 7.3.4.4. */
export type MeterBand =
  | { type: 'DROP'; rate: number; burstSize: number }
  | { type: 'DSCP_REMARK'; rate: number; burstSize: number; precLevel: number }
  | { type: 'EXPERIMENTER'; rate: number; burstSize: number; experimenter: number; data: Uint8Array };

export interface MeterModMessage extends Base {
  type: 'METER_MOD';
  command: MeterModCommand;
  flags: MeterFlag[];
  meterId: MeterId;
  bands: MeterBand[];
}

/** ONF bundle extension (EXT-230) as Open vSwitch implements it in 1.3: experimenter ONF, exp_type 2300. */
export interface BundleControlMessage extends Base {
  type: 'BUNDLE_CONTROL';
  bundleId: number;
  ctrlType: BundleCtrlType;
  flags: BundleFlag[];
  /** Bundle properties (ofp_bundle_prop list), kept raw. */
  properties: Uint8Array;
}

/** exp_type 2301: one message added to an open bundle. Its xid should equal the inner message's. */
export interface BundleAddMessage extends Base {
  type: 'BUNDLE_ADD_MESSAGE';
  bundleId: number;
  flags: BundleFlag[];
  message: OFMessage;
  /** Bytes after the inner message (padding and properties), kept raw. */
  properties: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Multipart, 7.3.5.

export type MultipartRequestFlag = 'REQ_MORE';
export type MultipartReplyFlag = 'REPLY_MORE';

/** ofp_flow_stats_request / ofp_aggregate_stats_request. */
export interface FlowStatsRequest {
  tableId: TableId;
  outPort: PortNo;
  outGroup: GroupId;
  cookie: bigint;
  cookieMask: bigint;
  match: Match;
}

export interface DescStats { mfrDesc: string; hwDesc: string; swDesc: string; serialNum: string; dpDesc: string }
export interface AggregateStats { packetCount: bigint; byteCount: bigint; flowCount: number }
export interface TableStats { tableId: number; activeCount: number; lookupCount: bigint; matchedCount: bigint }
export interface PortStats {
  portNo: PortNo;
  rxPackets: bigint; txPackets: bigint; rxBytes: bigint; txBytes: bigint; rxDropped: bigint; txDropped: bigint;
  rxErrors: bigint; txErrors: bigint; rxFrameErr: bigint; rxOverErr: bigint; rxCrcErr: bigint; collisions: bigint;
  durationSec: number; durationNsec: number;
}
export interface QueueStats {
  portNo: PortNo; queueId: number; txBytes: bigint; txPackets: bigint; txErrors: bigint;
  durationSec: number; durationNsec: number;
}
export interface BucketCounter { packetCount: bigint; byteCount: bigint }
export interface GroupStats {
  groupId: GroupId; refCount: number; packetCount: bigint; byteCount: bigint; durationSec: number; durationNsec: number;
  bucketStats: BucketCounter[];
}
export interface GroupDesc { groupType: GroupType; groupId: GroupId; buckets: Bucket[] }
/** ofp_group_features: bitmaps kept numeric (types = 1 << OFPGT_*, capabilities = OFPGFC_*). */
export interface GroupFeatures { types: number; capabilities: number; maxGroups: number[]; actions: number[] }
export interface MeterBandStats { packetBandCount: bigint; byteBandCount: bigint }
export interface MeterStats {
  meterId: MeterId; flowCount: number; packetInCount: bigint; byteInCount: bigint; durationSec: number;
  durationNsec: number; bandStats: MeterBandStats[];
}
export interface MeterConfig { flags: MeterFlag[]; meterId: MeterId; bands: MeterBand[] }
export interface MeterFeatures { maxMeter: number; bandTypes: number; capabilities: number; maxBands: number; maxColor: number }

/** An instruction or action id in a table-features property: type plus any bytes after the 4-byte header. */
export interface TlvId { type: number; data?: Uint8Array }
/** An OXM id (a header without value) in a table-features property. */
export interface OxmId {
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  length: number;
  experimenter?: number;
  /** Name of the field when the codec knows it (decode only; ignored by the encoder). */
  name?: OxmFieldName;
}
/** ofp_table_feature_prop_*, 7.3.5.5.2. */
export type TableFeatureProp =
  | { type: 'INSTRUCTIONS' | 'INSTRUCTIONS_MISS'; ids: TlvId[] }
  | { type: 'NEXT_TABLES' | 'NEXT_TABLES_MISS'; tableIds: number[] }
  | { type: 'WRITE_ACTIONS' | 'WRITE_ACTIONS_MISS' | 'APPLY_ACTIONS' | 'APPLY_ACTIONS_MISS'; ids: TlvId[] }
  | { type: 'MATCH' | 'WILDCARDS' | 'WRITE_SETFIELD' | 'WRITE_SETFIELD_MISS' | 'APPLY_SETFIELD' | 'APPLY_SETFIELD_MISS'; oxmIds: OxmId[] }
  | { type: 'EXPERIMENTER' | 'EXPERIMENTER_MISS'; experimenter: number; expType: number; data: Uint8Array }
  | { type: number; data: Uint8Array };
export interface TableFeatures {
  tableId: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  config: number;
  maxEntries: number;
  properties: TableFeatureProp[];
}
export interface ExperimenterMultipart { experimenter: number; expType: number; data: Uint8Array }

/** Request bodies by mpType (no body: DESC, TABLE, GROUP_DESC, GROUP_FEATURES, METER_FEATURES, PORT_DESC). */
export interface MultipartRequestBodies {
  DESC: undefined;
  FLOW: FlowStatsRequest;
  AGGREGATE: FlowStatsRequest;
  TABLE: undefined;
  PORT_STATS: { portNo: PortNo };
  QUEUE: { portNo: PortNo; queueId: QueueId };
  GROUP: { groupId: GroupId };
  GROUP_DESC: undefined;
  GROUP_FEATURES: undefined;
  METER: { meterId: MeterId };
  METER_CONFIG: { meterId: MeterId };
  METER_FEATURES: undefined;
  TABLE_FEATURES: TableFeatures[];
  PORT_DESC: undefined;
  EXPERIMENTER: ExperimenterMultipart;
}
/** Reply bodies by mpType. Array bodies are the ones REPLY_MORE may split across messages. */
export interface MultipartReplyBodies {
  DESC: DescStats;
  FLOW: FlowStats[];
  AGGREGATE: AggregateStats;
  TABLE: TableStats[];
  PORT_STATS: PortStats[];
  QUEUE: QueueStats[];
  GROUP: GroupStats[];
  GROUP_DESC: GroupDesc[];
  GROUP_FEATURES: GroupFeatures;
  METER: MeterStats[];
  METER_CONFIG: MeterConfig[];
  METER_FEATURES: MeterFeatures;
  TABLE_FEATURES: TableFeatures[];
  PORT_DESC: PortDesc[];
  EXPERIMENTER: ExperimenterMultipart;
}
export type MpType = keyof MultipartReplyBodies;

export type MultipartRequestOf<K extends MpType> = Base & {
  type: 'MULTIPART_REQUEST';
  mpType: K;
  flags: MultipartRequestFlag[];
} & (MultipartRequestBodies[K] extends undefined ? { body?: undefined } : { body: MultipartRequestBodies[K] });
export type MultipartReplyOf<K extends MpType> = Base & {
  type: 'MULTIPART_REPLY';
  mpType: K;
  flags: MultipartReplyFlag[];
  body: MultipartReplyBodies[K];
};
export type MultipartRequestMessage = { [K in MpType]: MultipartRequestOf<K> }[MpType];
export type MultipartReplyMessage = { [K in MpType]: MultipartReplyOf<K> }[MpType];

export type OFMessage =
  | HelloMessage | ErrorMessage | EchoRequestMessage | EchoReplyMessage | ExperimenterMessage
  | FeaturesRequestMessage | FeaturesReplyMessage | GetConfigRequestMessage | GetConfigReplyMessage
  | SetConfigMessage | PacketInMessage | FlowRemovedMessage | PortStatusMessage | PacketOutMessage
  | FlowModMessage | GroupModMessage | PortModMessage | TableModMessage | MultipartRequestMessage
  | MultipartReplyMessage | BarrierRequestMessage | BarrierReplyMessage | QueueGetConfigRequestMessage
  | QueueGetConfigReplyMessage | RoleRequestMessage | RoleReplyMessage | GetAsyncRequestMessage
  | GetAsyncReplyMessage | SetAsyncMessage | MeterModMessage | BundleControlMessage | BundleAddMessage;

export type OFMessageType = OFMessage['type'];
/** The message object of one type, e.g. MessageOf<'FLOW_MOD'>. */
export type MessageOf<T extends OFMessageType> = Extract<OFMessage, { type: T }>;
