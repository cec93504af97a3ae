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

/**
 * `pauseMs` (0: none) makes each Kubernetes call answer after that long instead, as an API server
 * would keep its client waiting: for seeing what idling between calls does to kubevend's own cost.
 */
export function nullKubeGateway({ pauseMs = 0 }: { pauseMs?: number } = {}): KubeGateway {
  let resourceVersion = 1000;
  const answer = <T>(make: () => T): Promise<T> =>
    pauseMs > 0 ? new Promise((resolve) => setTimeout(() => resolve(make()), pauseMs)) : Promise.resolve(make());
  return {
    endpoint: () => ({ server: 'https://127.0.0.1:6443', certificateAuthorityData }),
    createServiceAccountToken: ({ namespace, serviceAccount, ttlSeconds, boundSecret }) => answer(() => ({
      token: serviceAccountToken(namespace, serviceAccount, ttlSeconds, boundSecret),
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
      warnings: [],
    })),
    create: () => answer(() => ({ uid: randomUUID(), resourceVersion: `${resourceVersion++}` })),
    delete: async () => true,
    list: async function* () {},
    waitForSecretToken: async (_cluster, namespace) => serviceAccountToken(namespace, 'deployer', 86_400),
    version: async () => 'v1.37.2',
  };
}
