import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { stringify } from 'yaml';
import { createTestIssuer, githubClaims, type TestIssuer } from './helpers/ci-issuer.ts';
import { createNamespace, createViewerServiceAccount, deleteNamespaces } from './helpers/cluster.ts';
import { scratchDir } from './helpers/kubevend.ts';
import { startServer, type ServerProcess } from './helpers/server-process.ts';
import { can, refusedWithin, saveKubeconfig } from './helpers/vended.ts';

// What can be checked of the image without a container engine: that the Dockerfile builds with the
// scripts package.json defines, and that what its stages put into the image (package.json, the
// production dependencies `npm ci --omit=dev` installs, the built dist/) starts and serves.
// The stages are followed on this machine: COPY copies, RUN runs. Not checked: the base image and
// its Node.js, the user and file ownership, the read-only root filesystem, the volume; and the build
// stage's `npm ci` is stood in for by this checkout's node_modules, installed from the same lock.

const root = join(import.meta.dirname, '..');
const run = promisify(execFile);

interface Instruction { keyword: string; args: string }
interface Stage { name: string; instructions: Instruction[] }

function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword, args] = line.match(/^(\w+)\s+(.*)$/)!;
    if (keyword!.toUpperCase() === 'FROM') stages.push({ name: args!.split(/\s+AS\s+/i)[1] ?? 'final', instructions: [] });
    else stages.at(-1)!.instructions.push({ keyword: keyword!.toUpperCase(), args: args! });
  }
  return stages;
}

const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const envOf = (stage: Stage): Record<string, string> => Object.fromEntries(stage.instructions.filter((i) => i.keyword === 'ENV')
  .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));

describe('the Dockerfile', () => {
  let stages: Stage[];
  let pkg: { version: string; scripts: Record<string, string> };
  /** The Node options of `npm start`, and of the image's CMD. */
  const startOptions = () => pkg.scripts.start!.split(' ').filter((arg) => arg.startsWith('-'));
  let scratch: Awaited<ReturnType<typeof scratchDir>>;

  beforeAll(async () => {
    stages = parseDockerfile(await readFile(join(root, 'Dockerfile'), 'utf8'));
    pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    scratch = await scratchDir();
  });

  afterAll(() => scratch?.cleanup());

  it('when the image is built, then it runs the scripts CI runs, installs production dependencies only and starts as npm start does', async () => {
    const [build, dependencies, final] = [stages.find((s) => s.name === 'build')!, stages.find((s) => s.name === 'production-dependencies')!, stages.at(-1)!];
    expect(runs(build)).toEqual([expect.stringMatching(/^npm ci( |$)/), 'npm run build']);
    expect(pkg.scripts.build).toBeDefined();
    expect(runs(dependencies)).toEqual([expect.stringMatching(/^npm ci .*--omit=dev/)]);
    const cmd = final.instructions.find((i) => i.keyword === 'CMD')!.args;
    expect(JSON.parse(cmd)).toEqual(pkg.scripts.start!.split(' '));
    // The compile cache is filled with the Node options the server runs with: V8 reads a code cache
    // only under the options it was made with.
    const warm = runs(final).find((command) => command.includes('warm-compile-cache'));
    expect(warm?.split(' ')).toEqual(['node', ...startOptions(), 'dist/server/cli/warm-compile-cache.js']);
    expect(final.instructions.map((i) => i.keyword)).not.toContain('HEALTHCHECK');
    expect(final.instructions.find((i) => i.keyword === 'USER')?.args).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(envOf(final)).toMatchObject({ KUBEVEND_HOST: '0.0.0.0', KUBEVEND_DATABASE_URL: 'sqlite:///var/lib/kubevend/kubevend.db' });
    // The build context is an allow-list: everything the stages copy from it must be on it.
    const allowed = (await readFile(join(root, '.dockerignore'), 'utf8')).split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const copied = stages.flatMap((s) => s.instructions).filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(allowed).toEqual(expect.arrayContaining(copied));
  });

  describe('when its stages are followed and the result started', () => {
    let ci: TestIssuer;
    let ns: string;
    let image: string;
    let server: ServerProcess;
    let compileCache: string;
    /** What the compile cache directory held when the image was built. */
    let filledAtBuild: string[];

    /**
     * Follows one stage in `dir`: COPY from the checkout or an earlier stage's directory, RUN in
     * `dir` with the stage's ENV (paths under /app/ moved into `dir`).
     */
    async function follow(stage: Stage, dir: string, dirs: Record<string, string>, skip: (command: string) => boolean = () => false) {
      await mkdir(dir, { recursive: true });
      dirs[stage.name] = dir;
      const env = { ...process.env, ...inImage(envOf(stage), dir) };
      for (const { keyword, args } of stage.instructions) {
        if (keyword === 'RUN' && !skip(args)) await run('sh', ['-c', args], { cwd: dir, env, maxBuffer: 16 << 20 });
        if (keyword !== 'COPY') continue;
        const from = args.match(/^--from=(\S+)\s+/)?.[1];
        const [dest, ...sources] = args.replace(/^--from=\S+\s+/, '').split(/\s+/).reverse();
        for (const source of sources.reverse()) {
          const origin = from ? join(dirs[from]!, source.replace(/^\/app\//, '')) : join(root, source);
          await cp(origin, dest!.endsWith('/') ? join(dir, dest!, basename(source)) : join(dir, dest!), { recursive: true });
        }
      }
    }

    beforeAll(async () => {
      const dirs: Record<string, string> = {};
      const [build, dependencies, final] = stages;
      await mkdir(join(scratch.dir, 'build'));
      await symlink(join(root, 'node_modules'), join(scratch.dir, 'build', 'node_modules'));
      await follow(build!, join(scratch.dir, 'build'), dirs, (command) => command.startsWith('npm ci'));
      await follow(dependencies!, join(scratch.dir, 'dependencies'), dirs);
      image = join(scratch.dir, 'image');
      await follow(final!, image, dirs);

      ci = await createTestIssuer(scratch.dir);
      ns = await createNamespace('image');
      await createViewerServiceAccount(ns, 'deployer');
      const policyFile = join(scratch.dir, 'policy.yaml');
      await writeFile(policyFile, stringify({
        issuers: [{ name: 'ci', issuer: ci.issuer, audiences: ['kubevend'], publicKeyFile: ci.publicKeyFile }],
        clusters: [{ name: 'local', kubeconfig: inject('kubeconfig') }],
        pipelines: [{ name: 'web', issuer: 'ci', match: { repository: 'acme/web' }, grants: [{ cluster: 'local', namespace: ns, serviceAccount: 'deployer', kinds: ['short-lived', 'durable'] }] }],
      }));
      compileCache = inImage(envOf(final!), image).NODE_COMPILE_CACHE!;
      filledAtBuild = await readdir(compileCache);
      // As the CMD starts it: its Node options, the image's environment.
      server = startServer({
        ...inImage(envOf(final!), image), KUBEVEND_HOST: '127.0.0.1', KUBEVEND_POLICY_FILE: policyFile, KUBEVEND_DATABASE_URL: `sqlite://${join(scratch.dir, 'kubevend.db')}`,
      }, { entry: join(image, pkg.scripts.start!.split(' ').at(-1)!), cwd: image, nodeArgs: startOptions() });
    }, 300_000);

    afterAll(async () => {
      server?.kill();
      await server?.code;
      await deleteNamespaces(ns);
    });

    it('then the image holds no development dependency, the pinned node package included', async () => {
      for (const dev of ['node', 'typescript', 'vitest', 'eslint']) {
        await expect(stat(join(image, 'node_modules', dev)), dev).rejects.toThrow(/ENOENT/);
      }
      await expect(stat(join(image, 'node_modules', 'fastify'))).resolves.toBeDefined();
    });

    // The built server holds only the parts of the Kubernetes client it uses (scripts/bundle.ts):
    // every kind of call kubevend makes goes through it here, the durable token's watch included.
    it('then kubevend is ready, vends working kubeconfigs of both kinds and revokes them', async () => {
      const address = await server.address();
      expect((await fetch(`${address}/readyz`)).status).toBe(200);
      const job = async () => ({ authorization: `Bearer ${await ci.mint(githubClaims('acme/web'))}`, 'content-type': 'application/json' });
      const issued: { issuanceId: string; kubeconfig: string }[] = [];
      for (const kind of ['short-lived', 'durable']) {
        const res = await fetch(`${address}/v1/credentials`, { method: 'POST', headers: await job(), body: JSON.stringify({ kind }) });
        expect(res.status, server.stderr()).toBe(201);
        issued.push((await res.json()) as { issuanceId: string; kubeconfig: string });
      }
      const kubeconfigs = await Promise.all(issued.map((i) => saveKubeconfig(scratch.dir, i.kubeconfig)));
      for (const kubeconfig of kubeconfigs) expect(await can(kubeconfig, 'list', 'pods', ns)).toBe(true);
      for (const { issuanceId } of issued) {
        const res = await fetch(`${address}/v1/issuances/${issuanceId}`, { method: 'DELETE', headers: { authorization: (await job()).authorization } });
        expect(res.status, server.stderr()).toBe(200);
      }
      expect(await Promise.all(kubeconfigs.map((k) => refusedWithin(k, 20_000)))).toEqual([true, true]);
    });

    // Node keeps a directory per set of V8 options in its compile cache: a server started with
    // other options than the build's would find none of the build's code there, and on a
    // read-only root filesystem compile all of it at every start.
    it('then the server runs from the compile cache the build filled, and adds no cache of its own', async () => {
      expect(filledAtBuild).toHaveLength(1);
      server.kill();
      expect(await server.code).toBe(0);
      expect(await readdir(compileCache)).toEqual(filledAtBuild);
    });
  });
});

/** The image's environment with its paths under /app/ moved into `dir`, where the stage was followed. */
function inImage(env: Record<string, string>, dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value.replace(/^\/app\//, `${dir}/`)]));
}
