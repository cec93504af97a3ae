import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientSchema } from '../scripts/docs/client-schema.ts';
import { chartReadme, chartReadmeText } from '../scripts/docs/helm-values.ts';
import { openapiDocument } from '../scripts/docs/openapi.ts';
import { policyReference } from '../scripts/docs/policy-reference.ts';
import { loadPolicyFile } from '../src/policy/load.ts';
import { evaluate } from '../src/policy/decide.ts';

const root = join(import.meta.dirname, '..');
const committed = (file: string) => readFile(join(root, file), 'utf8');

describe('generated documents', () => {
  it('when the routes change, then openapi.yaml must be regenerated (npm run docs)', async () => {
    expect(await committed('openapi.yaml')).toBe(await openapiDocument());
  });

  it('when the policy schema changes, then docs/policy-reference.md must be regenerated (npm run docs)', async () => {
    expect(await committed('docs/policy-reference.md')).toBe(policyReference());
  });

  it('when openapi.yaml changes, then the typed client\'s schema must be regenerated (npm run docs)', async () => {
    expect(await committed('packages/client/src/schema.ts')).toBe(await clientSchema());
  });

  it('when openapi.yaml is linted with the recommended rules of a standard OpenAPI linter, then it passes', async () => {
    const cli = join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(process.execPath, [cli, 'lint', '--format=summary', join(root, 'openapi.yaml')], { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }));
    });
    expect(output).toMatch(/Your API description is valid/);
    expect(output).not.toMatch(/warning|error/i);
    expect(code).toBe(0);
  });

  it('when the chart\'s values or their schema change, then its README\'s values table must be regenerated (npm run docs)', async () => {
    expect(await readFile(chartReadme, 'utf8')).toBe(chartReadmeText());
  });
});

describe('example policies', () => {
  const decide = (policy: Awaited<ReturnType<typeof loadPolicyFile>>, issuer: string, claims: Record<string, unknown>) =>
    evaluate(policy, { identity: { issuer, claims }, ask: {} });

  it('when the GitHub Actions example is loaded, then it grants and denies as its comments say', async () => {
    const policy = await loadPolicyFile(join(root, 'examples', 'github-actions.yaml'));
    const prod = {
      repository: 'acme/web', repository_id: '123456789', repository_owner: 'acme', ref: 'refs/heads/main',
      environment: 'production', job_workflow_ref: 'acme/workflows/.github/workflows/deploy.yml@refs/heads/main',
    };
    expect(decide(policy, 'github', prod).decision).toMatchObject({ pipeline: 'web-production', cluster: 'prod-eu', namespace: 'web' });
    expect(decide(policy, 'github', { ...prod, repository: 'acme/api' }).decision)
      .toMatchObject({ pipeline: 'acme-staging', cluster: 'staging', namespace: 'ci-api' });
    expect(decide(policy, 'github', { ...prod, repository_owner: 'evil', repository: 'evil/web' }).denial?.code).toBe('pipeline_not_matched');
    expect(decide(policy, 'github', { ...prod, repository: 'acme/api', ref: 'refs/heads/release-2/x' }).denial?.code).toBe('pipeline_not_matched');
  });

  it('when the GitLab CI example is loaded, then protected production refs get production and others do not', async () => {
    const policy = await loadPolicyFile(join(root, 'examples', 'gitlab-ci.yaml'));
    const job = {
      project_id: '4711', project_path: 'acme/shop', namespace_path: 'acme', pipeline_source: 'push',
      ref_protected: 'true', environment: 'production', environment_protected: 'true',
    };
    expect(decide(policy, 'gitlab', job).decision).toMatchObject({ pipeline: 'shop-production', namespace: 'shop' });
    expect(decide(policy, 'gitlab', { ...job, ref_protected: 'false' }).decision)
      .toMatchObject({ pipeline: 'group-review-apps', namespace: 'review-shop' });
    expect(decide(policy, 'gitlab', { ...job, ref_protected: 'false', pipeline_source: 'schedule' }).denial?.code).toBe('conditions_not_met');
  });
});
