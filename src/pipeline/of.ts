// The one place the pipeline and the simulator take OpenFlow value types from (type-only: the
// pipeline computes values, it never encodes or sends them).
export type {
  Match,
  Oxm,
  OxmKnown,
  OxmFieldName,
  OxmFieldTypes,
  Action,
  Instruction,
  FlowModFlag,
  FlowModBody,
  FlowStats,
  PortNo,
  FieldRef,
} from 'node-openflow';
