// Entry point of the `bumless` command: dispatches to one module per command.
import { UsageError } from './command.js';
import { commands } from './commands.js';
import type { CommandEntry } from './commands.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `usage: bumless <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nbumless <command> --help shows a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry: CommandEntry | undefined = commands.find((c) => c.name === name);
  if (!entry) {
    console.error(`bumless: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`bumless ${name}: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof Error && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`bumless ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
