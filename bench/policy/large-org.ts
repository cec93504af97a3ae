import { stringify } from 'yaml';
import type { Identity } from '../../src/policy/decide.ts';

// A large organisation's policy: owners of many repositories, two CI systems, dozens of clusters.
// Half the pipelines match one repository exactly (every tenth a list of two), half match a team's
// repositories by glob and template their namespace from the repository's name, narrowed by
// allowedNames so that the name guards pass. Identities to decide with: jobs that get a grant, and
// jobs that are refused (no pipeline fits, or one fits but its conditions do not hold).

export const CLUSTERS = 30;

export interface LargeOrg {
  text: string;
  grants: Identity[];
  refusals: Identity[];
}

const issuerOf = (i: number) => (i % 4 === 3 ? 'gitlab' : 'github');
const claimOf = (i: number) => (i % 4 === 3 ? 'project_path' : 'repository');
const cluster = (i: number) => `prod-${String(i % CLUSTERS).padStart(2, '0')}`;

export function largeOrgPolicy(size: number, keyFile: string, identities = 1000): LargeOrg {
  const owners = Math.max(4, Math.floor(size / 50));
  const owner = (i: number) => `org-${i % owners}`;
  const pipelines = Array.from({ length: size }, (_, i) => {
    const claim = claimOf(i);
    if (i % 2 === 0) {
      const repo = `${owner(i)}/svc-${i}`;
      return {
        name: `svc-${i}`, issuer: issuerOf(i),
        match: { [claim]: i % 10 === 0 ? [repo, `${repo}-legacy`] : repo },
        conditions: { ref: 'refs/heads/main' },
        grants: [{ cluster: [cluster(i), cluster(i + 1)], namespace: `svc-${i}`, serviceAccount: 'deployer', ttl: { default: '15m', max: '1h' } }],
      };
    }
    const derived = claim === 'repository' ? 'repository_name' : 'project_name';
    return {
      name: `team-${i}`, issuer: issuerOf(i),
      match: { [claim]: `${owner(i)}/team-${i}-*` },
      conditions: { ref: 'refs/heads/main' },
      grants: [{
        cluster: cluster(i), namespace: `{{${derived}}}`, allowedNames: { namespace: [`team-${i}-*`] },
        bind: { clusterRole: 'edit' },
      }],
    };
  });
  const text = stringify({
    issuers: [
      { name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['kubevend'], hmacSecretFile: keyFile },
      { name: 'gitlab', issuer: 'https://gitlab.example.com', audiences: ['kubevend'], hmacSecretFile: keyFile },
    ],
    clusters: Array.from({ length: CLUSTERS }, (_, i) => ({ name: cluster(i), kubeconfig: `clusters/${cluster(i)}.yaml` })),
    pipelines,
    operators: [{ name: 'platform', issuer: 'github', match: { repository: 'org-0/platform-ops' }, role: 'admin' }],
  });
  // Spread over the whole file, so that a scan reaches on average half-way to a grant.
  const at = (k: number) => Math.floor(((k * 7919) % identities) * (size / identities)) % size;
  const job = (i: number, repo: string, ref: string): Identity => {
    const claims: Record<string, unknown> = {
      [claimOf(i)]: repo, ref, sha: 'a'.repeat(40), workflow: 'deploy', run_id: `${1_000_000 + i}`, actor: 'octocat',
      sub: `repo:${repo}:ref:${ref}`, aud: 'kubevend', repository_owner: owner(i), event_name: 'push',
    };
    return { issuer: issuerOf(i), subject: claims.sub as string, claims };
  };
  const repoOf = (i: number) => (i % 2 === 0 ? `${owner(i)}/svc-${i}` : `${owner(i)}/team-${i}-web`);
  const grants = Array.from({ length: identities }, (_, k) => job(at(k), repoOf(at(k)), 'refs/heads/main'));
  const refusals = Array.from({ length: identities }, (_, k) => {
    const i = at(k);
    // Half fit no pipeline at all, half fit one whose conditions (a protected ref) do not hold.
    return k % 2 === 0 ? job(i, `${owner(i)}/unknown-${i}`, 'refs/heads/main') : job(i, repoOf(i), 'refs/heads/feature');
  });
  return { text, grants, refusals };
}
