import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServedKubevend, type ServedKubevend } from './helpers/served.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const packageDir = join(root, 'packages', 'client');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

// A service's author's view: `@kubevend/client` packed as it would be published, installed into an
// empty project from the tarball, type-checked and run against the real server.
const program = `
declare const process: { env: Record<string, string | undefined> };
import { createKubevendClient, issueCredential, type CredentialEnvelope, type ExecCredential } from '@kubevend/client';

const tokens: string[] = JSON.parse(process.env.CI_TOKENS!);
const kubevend = createKubevendClient(process.env.KUBEVEND_URL!, { token: () => tokens.shift()! });

const envelope = await issueCredential(kubevend, {});
if (envelope.error) throw new Error(envelope.error.code);
const issued: CredentialEnvelope = envelope.data;

const exec = await issueCredential(kubevend, { format: 'exec-credential' });
if (exec.error) throw new Error(exec.error.code);
const credential: ExecCredential = exec.data;
// @ts-expect-error the answer is typed by the format asked for: an ExecCredential is not the envelope
const wrong: CredentialEnvelope = exec.data;
void wrong;

const kubeconfig = await issueCredential(kubevend, { format: 'kubeconfig' });
const text: string = kubeconfig.data!;

const { data: issuance, error } = await kubevend.GET('/v1/issuances/{id}', { params: { path: { id: issued.issuanceId } } });
if (error) throw new Error(error.code);
// @ts-expect-error a state outside the document's is not a state
if (issuance.state === 'vanished') throw new Error('unreachable');

console.log(JSON.stringify({
  pipeline: issued.pipeline, kind: credential.kind, expires: credential.status.expirationTimestamp,
  kubeconfig: text.split('\\n')[0], state: issuance.state,
}));
`;

describe('the @kubevend/client package', () => {
  let kv: ServedKubevend;
  let scratch: string;
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    kv = await startServedKubevend('client-package');
    scratch = join(kv.dir, 'service');
    await mkdir(scratch);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', kv.dir], { cwd: packageDir });
    packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  }, 120_000);
  afterAll(async () => kv?.close());

  it('when packed, then the tarball holds the built client and its types, and nothing of the server', async () => {
    expect(packed.files.map((f) => f.path).sort()).toEqual(['README.md', 'dist/index.d.ts', 'dist/index.js', 'dist/schema.d.ts', 'dist/schema.js', 'package.json']);
    const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toEqual(['openapi-fetch']);
    // The client's version is that of the API it was generated from.
    expect(manifest.version).toBe(/^ {2}version: (\S+)$/m.exec(await readFile(join(root, 'openapi.yaml'), 'utf8'))![1]);
    for (const file of ['dist/index.js', 'dist/index.d.ts']) {
      expect(await readFile(join(packageDir, file), 'utf8')).not.toMatch(/fastify|kysely|@kubernetes|from 'pg'|\.\.\//);
    }
  });

  it('when installed into an empty project, then it brings openapi-fetch alone, type-checks a program and runs it against the server', async () => {
    await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'a-service', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(kv.dir, packed.filename)], { cwd: scratch });
    const installed = (await readdir(join(scratch, 'node_modules'))).filter((d) => !d.startsWith('.'));
    expect(installed.sort()).toEqual(['@kubevend', 'openapi-fetch', 'openapi-typescript-helpers']);

    await writeFile(join(scratch, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'es2022', lib: ['es2022', 'dom'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [] },
      include: ['service.ts'],
    }));
    await writeFile(join(scratch, 'service.ts'), program);
    // Type errors (and any @ts-expect-error that expects none) fail here.
    await run(process.execPath, [tsc, '-p', scratch]).catch((err: { stdout: string }) => expect.fail(err.stdout));

    const tokens = await Promise.all([1, 2, 3, 4].map(() => kv.ciToken()));
    const { stdout } = await run(process.execPath, [join(scratch, 'service.ts')], {
      cwd: scratch, env: { ...process.env, KUBEVEND_URL: kv.url, CI_TOKENS: JSON.stringify(tokens) },
    });
    expect(JSON.parse(stdout)).toEqual({
      pipeline: 'web', kind: 'ExecCredential', expires: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), kubeconfig: 'apiVersion: v1', state: 'active',
    });
  }, 120_000);
});
