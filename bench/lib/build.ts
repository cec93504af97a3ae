import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './process.ts';

// What production runs is compiled JavaScript (`npm start` = `node dist/server.js`), not the
// TypeScript sources that Node's type stripping can run: stripping costs start-up time and about
// 18 MB of resident memory. So the run compiles src/ and bench/servers/ into its scratch directory
// with the project's compiler settings and starts the compiled entries.

const root = join(import.meta.dirname, '..', '..');

/** Compiled entries of the run, in its scratch directory. */
export interface BuiltEntries {
  /** src/server.ts compiled: what `npm start` runs. */
  server: string;
  /** bench/servers/kubevend-null-kube.ts compiled. */
  nullKube: string;
  /** bench/servers/bare-jwt.ts compiled. */
  bareJwt: string;
  /** src/cli/warm-compile-cache.ts compiled: fills a compile cache as the image's build does. */
  warmCompileCache: string;
}

export async function buildEntries(dir: string): Promise<BuiltEntries> {
  const out = join(dir, 'build');
  await mkdir(out, { recursive: true });
  const tsconfig = join(dir, 'tsconfig.bench.json');
  // As tsconfig.build.json, with the bench servers beside src; rootDir is the project, so that the
  // compiled files keep their relative imports (package.json included, which tsc copies over).
  await writeFile(tsconfig, JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    compilerOptions: {
      noEmit: false, outDir: out, rootDir: root, sourceMap: true, declaration: false,
      typeRoots: [join(root, 'node_modules', '@types')],
    },
    include: [join(root, 'src'), join(root, 'bench', 'servers')],
  }));
  await runCommand(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { timeoutMs: 5 * 60_000 });
  // Dependencies resolve from the compiled files' directory upwards, as they do from dist/.
  await symlink(join(root, 'node_modules'), join(out, 'node_modules'));
  return {
    server: join(out, 'src', 'server.js'),
    nullKube: join(out, 'bench', 'servers', 'kubevend-null-kube.js'),
    bareJwt: join(out, 'bench', 'servers', 'bare-jwt.js'),
    warmCompileCache: join(out, 'src', 'cli', 'warm-compile-cache.js'),
  };
}
