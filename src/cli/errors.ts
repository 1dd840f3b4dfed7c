/** A mistake in how headroom was invoked: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes shared by the commands. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;
