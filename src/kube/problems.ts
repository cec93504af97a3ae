import { ApiException } from '@kubernetes/client-node';
import { Problem } from '../errors.ts';
import { throttledAnswer } from './back-pressure.ts';

const unreachableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);
const timeoutCodes = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Every Kubernetes failure passes through here, so callers see a stable problem code and logs never
 * carry a raw API response body. `what` names the object the call was about.
 */
export function kubeProblem(err: unknown, what: string): Problem {
  if (err instanceof Problem) return err;
  const answer = apiAnswer(err, what);
  if (answer) {
    const { status, reason } = answer;
    if (status === 404) return new Problem('kube_object_not_found', `${what} does not exist`, { cause: err });
    if (status === 403 && /attempting to grant RBAC permissions not currently held/.test(reason)) {
      return new Problem('rbac_escalation_refused', `the API server refused ${what}: ${reason}`, { cause: err });
    }
    if (status === 403) return new Problem('kube_forbidden', `the API server refused kubevend: ${reason}`, { cause: err });
    if (status === 429 || throttledAnswer(err)) {
      const retryAfter = Math.max(1, Math.ceil(throttledAnswer(err)?.retryAfter ?? 1));
      return new Problem('cluster_throttled', `the API server answered ${status} (throttled) for ${what}`, { cause: err, retryAfter });
    }
    if (status === 504 || status === 408) return new Problem('kube_timeout', `the API server timed out on ${what}`, { cause: err });
    if (status >= 400 && status < 500) return new Problem('kube_rejected', `the API server rejected the request for ${what}: ${reason}`, { cause: err });
    return new Problem('kube_error', `the API server answered ${status} for ${what}`, { cause: err });
  }
  const code = errorCode(err);
  if (code && timeoutCodes.has(code)) return new Problem('kube_timeout', `the API server did not answer in time (${code})`, { cause: err });
  if (code && unreachableCodes.has(code)) return new Problem('cluster_unreachable', `the API server cannot be reached (${code})`, { cause: err });
  if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
    return new Problem('kube_timeout', 'the API server did not answer in time', { cause: err });
  }
  return new Problem('cluster_unreachable', 'the API server could not be called', { cause: err });
}

/**
 * The status and message of an API server's refusal: from an ApiException, or from the plain Error
 * with a `statusCode` that a Watch rejects with (its body is not read, so only the status text).
 */
function apiAnswer(err: unknown, what: string): { status: number; reason: string } | undefined {
  if (err instanceof ApiException) return { status: err.code, reason: apiMessage(err.body) };
  const statusCode = (err as { statusCode?: unknown } | undefined)?.statusCode;
  if (err instanceof Error && typeof statusCode === 'number') return { status: statusCode, reason: `${err.message} (watching ${what})` };
  return undefined;
}

/** Walks an error's causes for a system or undici error code. */
function errorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The `message` of a Kubernetes Status body: short, and free of credentials. */
function apiMessage(body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return 'no details';
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message.slice(0, 600) : 'no details';
}
