// Builds what production runs: `npm run build` compiles src/ with tsc (the library's files and
// types), then this bundles the server's entries over them, so that `dist/server.js` is one module of
// kubevend's own code with the parts of @kubernetes/client-node it uses. client-node's package
// re-exports its generated API clients and some 900 model modules, which its kubeconfig loader
// imports too; kubevend uses none of them (src/kube/rest.ts makes its calls), and loading them cost
// the server 73 MB of resident memory and half of its start. Every other package stays an import
// from node_modules, as it was.
import { existsSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'rolldown';

const root = join(import.meta.dirname, '..');
// Where the package really is: the bundler sees modules by their real paths (node_modules may be a link).
const clientNode = realpathSync(join(root, 'node_modules', '@kubernetes', 'client-node'));

/** The entries production runs, by their path under the output directory (without `.js`). */
export const serverEntries: Record<string, string> = {
  server: join(root, 'src', 'server.ts'),
  'cli/warm-compile-cache': join(root, 'src', 'cli', 'warm-compile-cache.ts'),
};

/**
 * Bundles `entries` into `outDir`, where their imports of other packages must resolve as they do
 * from the project (`outDir` within it, or beside a link to its node_modules).
 */
export async function bundle(outDir: string, entries: Record<string, string> = serverEntries): Promise<void> {
  // Chunks are named by their content: an earlier build's would stay behind.
  await rm(join(outDir, 'chunks'), { recursive: true, force: true });
  await build({
    input: entries,
    platform: 'node',
    cwd: root,
    logLevel: 'warn',
    external: (id, importer) => {
      if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0') || id.startsWith('@kubernetes/client-node')) return false;
      // A package client-node has a version of its own for would, once bundled, resolve to the
      // project's version instead. None has today; refuse to build if one ever does.
      const name = id.split('/').slice(0, id.startsWith('@') ? 2 : 1).join('/');
      if (importer?.startsWith(clientNode) && existsSync(join(clientNode, 'node_modules', name))) {
        throw new Error(`@kubernetes/client-node has its own ${name}; the bundle would load the project's`);
      }
      return true;
    },
    treeshake: {
      // client-node's modules do nothing when loaded but define what they export (checked for its
      // version: no top-level statement but the polyfill's), so the unused ones can be left out.
      moduleSideEffects: (id, external) => external || !id.startsWith(join(clientNode, 'dist')) || id.endsWith('polyfill.js'),
    },
    output: {
      dir: outDir,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: 'chunks/[name]-[hash].js',
      sourcemap: true,
    },
  });
}

if (import.meta.main) {
  const out = join(root, 'dist');
  await bundle(out);
  process.stdout.write(`bundled ${Object.keys(serverEntries).map((e) => relative(root, join(out, `${e}.js`))).join(', ')}\n`);
}
