// The list of commands. Each command lives in its own module under src/cli/ or next to the
// component it drives; add one import and one entry per command.
import type { Command } from './command.js';
import { labCommand } from '../lab/cli.js';
import { certCommand } from '../mesh/cert-cli.js';

export const commands: Command[] = [labCommand, certCommand];
