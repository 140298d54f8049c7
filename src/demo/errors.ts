// Errors of the demo that a user can act on: a step that could not be done (as opposed to a check
// that ran and found the overlay misbehaving, which is a failed check, not an error).
export class DemoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoError';
  }
}
