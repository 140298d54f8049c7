// Errors of the lab that a user can act on. A failed step names the host and the command, so the
// message alone says where to look (the host's directory holds the Open vSwitch logs).

/** Something the user can fix: bad input, a missing tool, a lab in the way. */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}

/** A command of a lab step failed. */
export class LabStepError extends LabError {
  constructor(
    readonly where: string,
    readonly command: string[],
    readonly stderr: string,
    readonly exitCode: number | undefined,
  ) {
    const detail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : '';
    super(`${where}: \`${command.join(' ')}\` failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}${detail}`);
    this.name = 'LabStepError';
  }
}
