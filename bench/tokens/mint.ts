// Mints CI identity tokens (RS256, distinct `jti`s) as a CI system would, one a line:
//   node bench/tokens/mint.ts PRIVATE_KEY.pem ISSUER COUNT CLAIMS_JSON OUT_FILE
// node:crypto directly rather than jose: a hundred thousand signatures are the slow part of a run.
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const [keyFile, issuer, count, claimsJson, outFile] = process.argv.slice(2);
const key = createPrivateKey(readFileSync(keyFile!));
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = b64({ alg: 'RS256', typ: 'JWT' });
const now = Math.floor(Date.now() / 1000);
// Long enough for the whole run, which outlives a CI token's usual ten minutes.
const claims = { iss: issuer, aud: 'kubevend', iat: now, nbf: now, exp: now + 7200, ...JSON.parse(claimsJson!) };
const lines: string[] = [];
for (let i = 0; i < Number(count); i++) {
  const signingInput = `${header}.${b64({ ...claims, jti: randomUUID() })}`;
  lines.push(`${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`);
}
writeFileSync(outFile!, lines.length ? `${lines.join('\n')}\n` : '');
process.stdout.write(`${JSON.stringify({ minted: lines.length })}\n`);
