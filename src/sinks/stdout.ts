/**
 * Lines to standard output, beside the log. A transport error (EPIPE once the reader is gone,
 * EAGAIN, ...) is this sink's failure, handed to its queue: standard output without a listener for
 * its errors would throw them at the process, and stop the server for an audit copy.
 */
export function stdoutSink(out: NodeJS.WritableStream = process.stdout) {
  let broken: string | undefined;
  out.on('error', (err: NodeJS.ErrnoException) => {
    broken = err.code ?? 'error';
  });
  return (lines: string[]) => new Promise<void>((resolve, reject) => {
    if (broken) return reject(new Error(`standard output is closed (${broken})`));
    out.write(lines.join(''), (err) => (err ? reject(err) : resolve()));
  });
}
