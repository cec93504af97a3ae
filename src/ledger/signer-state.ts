import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

/** A point this signer signed: the ledger's first `size` records chained to `headHash`. */
export interface SignedPoint {
  size: number;
  headHash: string;
}

const pointSchema = z.object({ size: z.number().int().min(0), headHash: z.string().regex(/^[0-9a-f]{64}$/) });

/**
 * What the signer last signed, kept where the database's writers cannot reach: in memory for the
 * process's life and, when `file` is set, in a file beside the key, so that a restart after the
 * checkpoints table was emptied still knows what it vouched for. A file that cannot be read or
 * written stops signing rather than forgetting.
 */
export function createSignerState(file?: string) {
  let point: SignedPoint | undefined;
  let loaded = !file;
  return {
    async last(): Promise<SignedPoint | undefined> {
      if (!loaded) {
        const text = await readFile(file!, 'utf8').catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw new Error(`${file}: cannot read the signer's state (${err.code ?? 'error'})`);
        });
        const parsed = text === undefined ? undefined : pointSchema.safeParse(JSON.parse(text));
        if (parsed && !parsed.success) throw new Error(`${file}: not the signer's state; not signing until it is fixed or removed`);
        point = parsed?.data;
        loaded = true;
      }
      return point;
    },
    /** Remembers a point before its checkpoint is published: a checkpoint it forgot could be contradicted. */
    async remember(next: SignedPoint): Promise<void> {
      if (file) {
        await writeFile(`${file}.tmp`, JSON.stringify(next), { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      }
      point = next;
    },
  };
}
