// Signs a CI-shaped identity token with a PEM private key, as a CI system would:
//   node scripts/demo/mint-ci-token.ts KEY.pem ISSUER '{"repository":"acme/web"}'
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { importPKCS8, SignJWT } from 'jose';

const [keyFile, issuer, claimsJson = '{}'] = process.argv.slice(2);
if (!keyFile || !issuer) {
  console.error('usage: mint-ci-token.ts KEY.pem ISSUER [CLAIMS_JSON]');
  process.exit(2);
}
const key = await importPKCS8(await readFile(keyFile, 'utf8'), 'RS256');
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ aud: 'kubevend', jti: randomUUID(), ...JSON.parse(claimsJson) })
  .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
  .setIssuer(issuer)
  .setIssuedAt(now)
  .setNotBefore(now)
  .setExpirationTime(now + 300)
  .sign(key);
process.stdout.write(token);
