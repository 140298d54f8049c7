// The list of commands. Each command lives in its own module under src/cli/ or next to the
// component it drives; add one import and one entry per command.
import type { Command } from './command.js';
import { labCommand } from '../lab/cli.js';
import { certCommand } from '../mesh/cert-cli.js';
import { agentCommand } from '../agent/cli.js';
import { tenantCommand } from './tenant.js';
import { networkCommand } from './network.js';
import { endpointCommand } from './endpoint.js';
import { statusCommand } from './status.js';
import { alarmCommand } from './alarm.js';
import { flowsCommand } from './flows.js';
import { traceCommand } from './trace.js';
import { demoCommand } from '../demo/cli.js';

export const commands: Command[] = [
  labCommand,
  certCommand,
  agentCommand,
  tenantCommand,
  networkCommand,
  endpointCommand,
  statusCommand,
  alarmCommand,
  flowsCommand,
  traceCommand,
  demoCommand,
];
