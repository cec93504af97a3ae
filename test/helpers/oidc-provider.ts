import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface OperatorIdp {
  /** The issuer URL, http on loopback. */
  issuer: string;
  clientId: string;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (the `oidc-provider` package) on loopback, as a company's single sign-on
 * would be: one public client allowed the device authorization grant and refresh tokens; every
 * account it signs in is in `groups`. Its built-in login and consent pages stand in for the
 * company's.
 */
export async function startOperatorIdp(options: { groups: string[]; idTokenTtlSeconds?: number }): Promise<OperatorIdp> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const clientId = 'kubevend-cli';
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId, token_endpoint_auth_method: 'none', application_type: 'native',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], response_types: [], redirect_uris: [],
    }],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'operators', alg: 'RS256', use: 'sig' }] },
    features: { deviceFlow: { enabled: true }, devInteractions: { enabled: true } },
    scopes: ['openid', 'offline_access', 'groups'],
    claims: { openid: ['sub'], groups: ['groups'] },
    // kubevend reads the operator's groups from the ID token it is given.
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, groups: options.groups }) }),
    issueRefreshToken: async () => true,
    ttl: { IdToken: options.idTokenTtlSeconds ?? 600, AccessToken: 600, DeviceCode: 120, RefreshToken: 3600, Grant: 3600, Session: 3600, Interaction: 600 },
    cookies: { keys: ['kubevend-test-cookie-key'] },
  });
  server.on('request', provider.callback());
  return { issuer, clientId, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * The operator at their browser: opens the verification URL the command printed, confirms the
 * code, signs in and consents, submitting each page's form as a person would.
 */
export async function approveInBrowser(url: string, login: string): Promise<string> {
  const cookies = new Map<string, string>();
  let next: { url: string; method: 'GET' | 'POST'; body?: URLSearchParams } = { url, method: 'GET' };
  for (let step = 0; step < 20; step++) {
    const response = await fetch(next.url, {
      method: next.method, redirect: 'manual',
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(next.body ? { body: next.body } : {}),
    });
    for (const c of response.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, ...value] = pair!.split('=');
      cookies.set(name!.trim(), value.join('='));
    }
    const location = response.headers.get('location');
    if (location) {
      next = { url: new URL(location, next.url).href, method: 'GET' };
      continue;
    }
    const page = await response.text();
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(page);
    if (!form) return page;
    const fields = new URLSearchParams();
    for (const input of form[2]!.matchAll(/<input([^>]*)>/gi)) {
      const name = /name="([^"]*)"/.exec(input[1]!)?.[1];
      if (!name) continue;
      const value = name === 'login' ? login : name === 'password' ? 'any' : (/value="([^"]*)"/.exec(input[1]!)?.[1] ?? '');
      fields.set(name, value);
    }
    next = { url: new URL(form[1]!.replaceAll('&amp;', '&'), next.url).href, method: 'POST', body: fields };
  }
  throw new Error('the sign-in did not finish in 20 pages');
}
