import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { bundle, serverEntries } from '../../scripts/bundle.ts';

// What production runs is the built server (`npm run build` builds `dist/server/` with
// scripts/bundle.ts), not the TypeScript sources that Node's type stripping can run: stripping costs
// start-up time and resident memory, and the sources load all of @kubernetes/client-node. So the run
// bundles the server's entries into its scratch directory exactly as the build does, and the bench's
// own servers (kubevend with the zero-latency gateway, the bare route) the same way, apart.

const root = join(import.meta.dirname, '..', '..');

/** Built entries of the run, in its scratch directory. */
export interface BuiltEntries {
  /** src/server.ts built: what `npm start` runs. */
  server: string;
  /** bench/servers/kubevend-null-kube.ts built. */
  nullKube: string;
  /** bench/servers/bare-jwt.ts built. */
  bareJwt: string;
  /** src/cli/warm-compile-cache.ts built: fills a compile cache as the image's build does. */
  warmCompileCache: string;
}

export async function buildEntries(dir: string): Promise<BuiltEntries> {
  const out = join(dir, 'build');
  await mkdir(out, { recursive: true });
  // Packages resolve from the built files' directory upwards, as they do from dist/.
  await symlink(join(root, 'node_modules'), join(out, 'node_modules'));
  await bundle(join(out, 'server'), serverEntries);
  // Each module at its path in the project: the bench servers import src/.
  await bundle(join(out, 'bench'), ['kubevend-null-kube.ts', 'bare-jwt.ts'].map((f) => join(root, 'bench', 'servers', f)), root);
  return {
    server: join(out, 'server', 'server.js'),
    nullKube: join(out, 'bench', 'bench', 'servers', 'kubevend-null-kube.js'),
    bareJwt: join(out, 'bench', 'bench', 'servers', 'bare-jwt.js'),
    warmCompileCache: join(out, 'server', 'cli', 'warm-compile-cache.js'),
  };
}
