// The list of commands: name and summary here, the module loaded only when the command runs, so
// `bumless lab status` does not load the agent, the API server or the codec (start-up time of every call).
// Each command lives in its own module under src/cli/ or next to the component it drives; add one entry
// per command. The name and summary must equal the loaded Command's (test/unit/cli-main.test.ts checks).
import type { Command } from './command.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  { name: 'lab', summary: 'Open vSwitch hosts in network namespaces: up, down, status, list, container, agents, exec (vxlan/geneve/gre)', load: async () => (await import('../lab/cli.js')).labCommand },
  { name: 'cert', summary: 'create the mesh CA and per-host certificates (openssl)', load: async () => (await import('../mesh/cert-cli.js')).certCommand },
  { name: 'agent', summary: 'run the per-host controller (bumless agent --config FILE)', load: async () => (await import('../agent/cli.js')).agentCommand },
  { name: 'tenant', summary: 'create, list, show and delete tenants and their API tokens', load: async () => (await import('./tenant.js')).tenantCommand },
  { name: 'network', summary: 'create, list, show and delete tenant networks', load: async () => (await import('./network.js')).networkCommand },
  { name: 'endpoint', summary: 'register, list, show and delete endpoints (containers, VMs)', load: async () => (await import('./endpoint.js')).endpointCommand },
  { name: 'status', summary: 'show the agent\'s switch connection, flows, peers, registry, BUM counters and alarms', load: async () => (await import('./status.js')).statusCommand },
  { name: 'alarm', summary: 'list the registry\'s alarms and clear one by id', load: async () => (await import('./alarm.js')).alarmCommand },
  { name: 'flows', summary: 'show desired vs installed flows (--ovs in ovs-ofctl syntax, --diff only the difference)', load: async () => (await import('./flows.js')).flowsCommand },
  { name: 'trace', summary: 'trace a described frame through the switch tables and show its fate', load: async () => (await import('./trace.js')).traceCommand },
  {
    name: 'demo',
    summary: 'the seed demo: 3 hosts, 2 tenants with the same IPs and MACs, pings and captures that prove no flooding',
    load: async () => (await import('../demo/cli.js')).demoCommand,
  },
];
