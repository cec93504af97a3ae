import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadConfig } from '../load/autocannon.ts';
import { runNodeJson } from './process.ts';
import type { LoadResult } from './stats.ts';

const generator = join(import.meta.dirname, '..', 'load', 'autocannon.ts');
let configs = 0;

/** Runs autocannon in its own process against `config.url`; resolves when it has finished. */
export async function runLoad(dir: string, config: LoadConfig): Promise<LoadResult> {
  const file = join(dir, `load-${configs++}.json`);
  await writeFile(file, JSON.stringify(config));
  const result = await runNodeJson<LoadResult>(generator, [file], { timeoutMs: (config.maxSeconds * 2 + 60) * 1000 });
  const failed = Object.values(result.failures).reduce((a, b) => a + b, 0);
  if (failed > 0) process.stderr.write(`   ! ${failed} requests failed: ${JSON.stringify(result.failures)}\n`);
  return result;
}
