import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { Problem } from '../errors.ts';

/**
 * Watches one `kubernetes.io/service-account-token` Secret from the version it was created at until
 * the token controller fills `data.token`. Watching from that version means the fill is seen even
 * when it happened before the watch started.
 */
export function waitForSecretToken(
  kc: KubeConfig,
  { namespace, name, resourceVersion, timeoutMs }: { namespace: string; name: string; resourceVersion: string; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let abort: AbortController | undefined;
    const finish = (err: unknown, token?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort?.abort();
      if (err) reject(err);
      else resolve(token!);
    };
    const timer = setTimeout(() => finish(new Problem('durable_token_timeout',
      `the token controller did not fill Secret ${namespace}/${name} within ${timeoutMs} ms`)), timeoutMs);
    new Watch(kc)
      .watch(
        `/api/v1/namespaces/${namespace}/secrets`,
        { fieldSelector: `metadata.name=${name}`, resourceVersion, timeoutSeconds: Math.ceil(timeoutMs / 1000) + 30 },
        (phase, secret: { data?: Record<string, string> }) => {
          if (phase === 'DELETED') finish(new Problem('kube_error', `Secret ${namespace}/${name} was deleted before it got its token`));
          const token = secret?.data?.token;
          if (token) finish(undefined, Buffer.from(token, 'base64').toString('utf8'));
        },
        (err) => finish(err ?? new Problem('kube_error', `the watch on Secret ${namespace}/${name} ended before it got its token`)),
      )
      .then((controller) => {
        abort = controller;
        if (settled) controller.abort();
      }, (err) => finish(err));
  });
}
