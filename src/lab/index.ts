// The lab's programmatic API, shared by the integration tests, the demo and the benchmarks:
//   const lab = await Lab.up({ lab: 't1', hosts: 2, encap: 'geneve' });
//   await lab.addContainer({ host: 'h1', name: 'a1', ip: '10.0.0.1/24' });
//   await lab.exec({ container: 'a1' }, ['ping', '-c1', '10.0.0.2']);
//   await lab.ofctl('h1', 'add-flow', ['table=0,priority=0,actions=drop']);
//   const status = await lab.status();
//   await lab.down();
export { Lab } from './lab.js';
export type { UpOptions, ContainerOptions, ExecTarget, HostStatus, ContainerStatus, LabStatus, LabSummary, Progress } from './lab.js';
export type { AgentStatus, AgentStartOptions, AgentStopOptions } from './agents.js';
export { hasAgentCommand, NO_AGENT_MESSAGE } from './agents.js';
export { LabError, LabStepError } from './errors.js';
export type { LabState, HostState, ContainerState } from './state.js';
export type { HostPaths, UnderlayPlan } from './plan.js';
export { agentConfig, containerMtu, defaultUnderlay, underlayPlan, names, parseNamespace, ENCAPS, ENCAP_OVERHEAD } from './plan.js';
export type { RunResult } from './system.js';
export type { Encap } from '../registry/model.js';
export { ensureCa, ensureHostCert, caFiles } from './pki.js';
