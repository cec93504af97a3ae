// The command's exit codes, one per class of outcome, so that a CI script can tell a refusal
// (fix the policy or the job) from a bad day (retry the job) from a mistake in the call.

export const exitCodes = {
  ok: 0,
  /** Anything else: a file that cannot be written, an audit ledger whose chain is broken. */
  failed: 1,
  /** The command line or the request was wrong: an unknown flag, no identity token, a 400. */
  usage: 2,
  /** The service said no: 401, 403, 404 (not a pipeline of this identity, suspended, unknown cluster...). */
  refused: 3,
  /** The service could not be reached or kept answering 429/5xx until the deadline. */
  unavailable: 4,
} as const;

export type ExitClass = keyof typeof exitCodes;

/** A failure the command reports in one line on stderr and ends with its class's exit code. */
export class CliError extends Error {
  readonly exitClass: ExitClass;

  constructor(exitClass: ExitClass, message: string) {
    super(message);
    this.exitClass = exitClass;
  }
}

/** The class of an HTTP status the service answered with (after any retries). */
export function classOfStatus(status: number): ExitClass {
  if (status === 401 || status === 403 || status === 404 || status === 409) return 'refused';
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return 'usage';
  return 'unavailable';
}
