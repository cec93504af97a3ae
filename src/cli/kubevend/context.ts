/** What a command sees of the world: its environment and its two streams. */
export interface CommandContext {
  env: NodeJS.ProcessEnv;
  /** Standard output: only what the caller asked for as output (and GitHub's workflow commands). */
  stdout: (text: string) => void;
  /** One line on standard error, prefixed with the command's name; never a secret. */
  say: (line: string) => void;
  /** The one line that says why the command failed; `say` unless the runner shows errors its own way. */
  fail?: (line: string) => void;
}
