/** Lines to standard output, beside the log: written synchronously on Linux (pipes and files), whole. */
export function stdoutSink(write: (text: string) => boolean = (text) => process.stdout.write(text)) {
  return async (lines: string[]) => {
    write(lines.join(''));
  };
}
