import { randomBytes, randomUUID } from 'node:crypto';
import type { KubeGateway } from '../../src/services/ports.ts';

// A benchmark double, not a test fake: a KubeGateway that answers at once, so that a load measures
// kubevend's own cost. Its answers are shaped and sized like a real API server's.

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = b64({ alg: 'RS256', kid: 'bench' });
// An RS256 signature over 2048 bits, and a CA bundle, are this long.
const signature = randomBytes(256).toString('base64url');
const certificateAuthorityData = randomBytes(1100).toString('base64');

/** A token shaped like a bound ServiceAccount token, with a `jti` of its own. */
function serviceAccountToken(namespace: string, serviceAccount: string, ttlSeconds: number, boundSecret?: { name: string; uid: string }): string {
  const now = Math.floor(Date.now() / 1000);
  return `${header}.${b64({
    aud: ['https://kubernetes.default.svc.cluster.local'], exp: now + ttlSeconds, iat: now, nbf: now,
    iss: 'https://kubernetes.default.svc.cluster.local', jti: randomUUID(),
    'kubernetes.io': {
      namespace, serviceaccount: { name: serviceAccount, uid: randomUUID() },
      ...(boundSecret ? { secret: boundSecret } : {}),
    },
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
  })}.${signature}`;
}

export function nullKubeGateway(): KubeGateway {
  let resourceVersion = 1000;
  return {
    endpoint: () => ({ server: 'https://127.0.0.1:6443', certificateAuthorityData }),
    createServiceAccountToken: async ({ namespace, serviceAccount, ttlSeconds, boundSecret }) => ({
      token: serviceAccountToken(namespace, serviceAccount, ttlSeconds, boundSecret),
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      warnings: [],
    }),
    create: async () => ({ uid: randomUUID(), resourceVersion: `${resourceVersion++}` }),
    delete: async () => true,
    list: async function* () {},
    waitForSecretToken: async (_cluster, namespace) => serviceAccountToken(namespace, 'deployer', 86_400),
    version: async () => 'v1.37.2',
  };
}
