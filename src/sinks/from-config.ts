import { readFile } from 'node:fs/promises';
import type { AuditSinkConfig } from '../config.ts';
import type { ServiceLogger } from '../services/ports.ts';
import { fileSink } from './file.ts';
import { httpSink } from './http.ts';
import { createSinkQueue, type SinkQueue } from './queue.ts';
import { stdoutSink } from './stdout.ts';

/** The sinks the environment asks for; a token file that cannot be read stops the start. */
export async function sinksFromConfig(config: AuditSinkConfig, deps: { logger?: ServiceLogger; onDropped?: (sink: string, count: number) => void }): Promise<SinkQueue[]> {
  const common = { maxBuffer: config.buffer, batchSize: 500, ...deps };
  const sinks: SinkQueue[] = [];
  if (config.stdout) sinks.push(createSinkQueue({ ...common, name: 'stdout', mode: config.stdout, send: stdoutSink() }));
  if (config.file) sinks.push(createSinkQueue({ ...common, name: 'file', mode: config.file.mode, send: fileSink(config.file) }));
  if (config.http) {
    const { url, mode, tokenFile } = config.http;
    const token = tokenFile ? (await readFile(tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`KUBEVEND_AUDIT_SINK_TOKEN_FILE: ${tokenFile}: cannot be read (${err.code ?? err.message})`);
    })).trim() : undefined;
    sinks.push(createSinkQueue({ ...common, name: 'http', mode, send: httpSink({ url, ...(token ? { token } : {}) }) }));
  }
  return sinks;
}
