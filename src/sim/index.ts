// The in-memory OpenFlow 1.3 switch model for unit tests: see switch.ts.
export { FlowSim, SimFlowError, SimAmbiguityError } from './switch.js';
export type { SimFlow, SimFlowInput, SimOutput, SimResult, SimOptions } from './switch.js';
export { arpRequest, arpReply, ipv4Frame, ipv6Frame, ETH_TYPE, BROADCAST_MAC } from './frame.js';
export type { Frame, FrameFieldName } from './frame.js';
