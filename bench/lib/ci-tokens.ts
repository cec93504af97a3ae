import { generateKeyPairSync } from 'node:crypto';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runNodeJson } from './process.ts';

// The CI system of the run: a static RS256 key, as the policy's `publicKeyFile` issuer sees it.

const minter = join(import.meta.dirname, '..', 'tokens', 'mint.ts');

export const pipelineClaims = { sub: 'repo:acme/web:ref:refs/heads/main', repository: 'acme/web', ref: 'refs/heads/main', sha: 'a'.repeat(40), workflow: 'deploy', run_id: '1234567890', actor: 'octocat' };
/** A job of the bench pipeline NAME (lib/kubevend.ts writePolicy): its repository is `acme/NAME`. */
export const claimsFor = (pipeline: string) => ({ ...pipelineClaims, sub: `repo:acme/${pipeline}:ref:refs/heads/main`, repository: `acme/${pipeline}` });
export const operatorClaims = { sub: 'repo:acme/platform-ops:ref:refs/heads/main', repository: 'acme/platform-ops', ref: 'refs/heads/main' };

export interface CiIssuer {
  issuer: string;
  publicKeyFile: string;
  /** Writes `count` fresh tokens with these claims to a file, one a line, minting on every core. */
  mint(count: number, claims?: object): Promise<string>;
  /** One token, for a caller that may reuse it (operators: reading the ledger spends nothing). */
  one(claims: object): Promise<string>;
}

export async function createCiIssuer(dir: string, workers: number): Promise<CiIssuer> {
  const issuer = 'https://ci.bench.kubevend.test';
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyFile = join(dir, 'ci.pub.pem');
  const privateKeyFile = join(dir, 'ci.key.pem');
  await writeFile(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  let files = 0;

  async function mint(count: number, claims: object = pipelineClaims): Promise<string> {
    const out = join(dir, `tokens-${files++}.txt`);
    const shares = Array.from({ length: workers }, (_, i) => Math.floor(count / workers) + (i < count % workers ? 1 : 0));
    const parts = await Promise.all(shares.map(async (share, i) => {
      const part = `${out}.${i}`;
      await runNodeJson(minter, [privateKeyFile, issuer, `${share}`, JSON.stringify(claims), part], { timeoutMs: 10 * 60_000 });
      return part;
    }));
    await writeFile(out, '');
    for (const part of parts) {
      await appendFile(out, await readFile(part));
      await rm(part);
    }
    return out;
  }

  return {
    issuer,
    publicKeyFile,
    mint,
    async one(claims) {
      const file = await mint(1, claims);
      return (await readFile(file, 'utf8')).trim();
    },
  };
}
