// A CLI command: parses its own arguments (node:util parseArgs) and returns the process exit code.
// Commands print human-readable text by default and JSON with --json for every read command.
export interface Command {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** An error a user can act on: printed as "bumless: <message>" without a stack trace. */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }
}
