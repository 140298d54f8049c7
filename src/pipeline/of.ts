// The one place the pipeline and the simulator take OpenFlow value types from. Type-only on purpose:
// the codec package is built separately, and switching this line to `from 'node-openflow'` must be
// the only change needed once openflow/dist exists.
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
} from '../../openflow/src/types.js';
