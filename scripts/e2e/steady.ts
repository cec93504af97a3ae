// Steady requests against kubevend while the e2e install script upgrades and restarts it: every
// tick one GET /readyz and, every fourth tick, one issuance (POST /v1/credentials) with a fresh CI
// token, each on a new connection, as CI jobs arrive. Runs until SIGTERM or --seconds, then prints
// one JSON line: counts (requests sent again after a kept-alive connection was reset apart), the
// seconds between the first and the last failure, and the first failures.
//   node scripts/e2e/steady.ts BASE_URL KEY.pem ISSUER CLAIMS_JSON [--rate N] [--seconds N] [--keep-alive]
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { importPKCS8, SignJWT } from 'jose';
import { Agent, request } from 'undici';

const [base, keyFile, issuer, claimsJson, ...rest] = process.argv.slice(2);
if (!base || !keyFile || !issuer || !claimsJson) {
  console.error('usage: steady.ts BASE_URL KEY.pem ISSUER CLAIMS_JSON [--rate N] [--seconds N]');
  process.exit(2);
}
const option = (name: string, fallback: number) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : fallback;
};
const rate = option('--rate', 10);
const seconds = option('--seconds', 600);
const key = await importPKCS8(await readFile(keyFile, 'utf8'), 'RS256');
const claims = JSON.parse(claimsJson) as Record<string, unknown>;
// A new connection for each request (pipelining 0: no keep-alive), as CI jobs arrive; --keep-alive
// reuses connections instead, as one long-lived client would.
const keepAlive = rest.includes('--keep-alive');
const dispatcher = new Agent({ pipelining: keepAlive ? 1 : 0, connectTimeout: 5_000 });

async function ciToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ aud: 'kubevend', jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(issuer!).setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 300)
    .sign(key);
}

const started = Date.now();
const counts = { readyz: 0, issued: 0, failed: 0, retried: 0 };
const failures: { at: number; what: string; detail: string }[] = [];
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });

/**
 * A server closing an idle kept-alive connection can cross a request just sent on it: that request
 * never reached the service, and HTTP clients send it again on a new connection, as the kubevend
 * command does for any connection error. Here once, with a new token, and counted apart.
 */
const resetBeforeAnswer = (err: unknown) => ['ECONNRESET', 'UND_ERR_SOCKET'].includes((err as { code?: string }).code ?? '');

async function one(what: 'readyz' | 'issue', retry = keepAlive): Promise<void> {
  try {
    const res = what === 'readyz'
      ? await request(`${base}/readyz`, { dispatcher, headersTimeout: 10_000, bodyTimeout: 10_000 })
      : await request(`${base}/v1/credentials`, {
          method: 'POST', dispatcher, headersTimeout: 30_000, bodyTimeout: 30_000,
          headers: { authorization: `Bearer ${await ciToken()}` },
        });
    await res.body.text();
    const ok = what === 'readyz' ? res.statusCode === 200 : res.statusCode === 201;
    if (ok) counts[what === 'readyz' ? 'readyz' : 'issued']++;
    else fail(what, `status ${res.statusCode}`);
  } catch (err) {
    if (retry && resetBeforeAnswer(err)) {
      counts.retried++;
      return one(what, false);
    }
    fail(what, (err as Error & { code?: string }).code ?? (err as Error).message);
  }
}
function fail(what: string, detail: string): void {
  counts.failed++;
  failures.push({ at: (Date.now() - started) / 1000, what, detail });
}

const inFlight = new Set<Promise<void>>();
for (let tick = 0; !stopping && Date.now() - started < seconds * 1000; tick++) {
  for (const what of tick % 4 === 0 ? (['readyz', 'issue'] as const) : (['readyz'] as const)) {
    const p = one(what).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await sleep(Math.max(0, started + ((tick + 1) * 1000) / rate - Date.now()));
}
await Promise.all(inFlight);
// The window in which requests failed (a replaced pod's gap), and the first few failures.
const window = failures.length ? [failures[0]!.at, failures.at(-1)!.at] : [];
console.log(JSON.stringify({ seconds: (Date.now() - started) / 1000, ...counts, failedBetween: window, failures: failures.slice(0, 3) }));
process.exit(0);
