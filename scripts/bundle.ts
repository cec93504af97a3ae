// Builds what production runs. `npm run build` compiles src/ with tsc (the library and its types),
// then this builds the server into dist/server/: kubevend's modules, one file each as in src/, with
// copies of only those modules of @kubernetes/client-node that kubevend uses. client-node's package
// re-exports its generated API clients and some 900 model modules, which its kubeconfig loader
// imports too; kubevend uses none of them (src/kube/rest.ts makes its calls). Leaving them out took
// the bench's real server from 165 to 126.5 MB when ready (its start's p50 went from 1.01 to 0.90 s,
// on a less busy machine). Every other package stays an import from node_modules, as it was.
// Modules stay apart because one single module cost more CPU an issuance than the same code in
// modules (1.45 to 1.71 against 1.27 to 1.59 ms in quick service-bound runs; apart: 1.31 to 1.33).
import { existsSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build } from 'rolldown';

const root = join(import.meta.dirname, '..');
// Where the package really is: the bundler sees modules by their real paths (node_modules may be a link).
const clientNode = realpathSync(join(root, 'node_modules', '@kubernetes', 'client-node'));

/** The entries production runs. */
export const serverEntries = [join(root, 'src', 'server.ts'), join(root, 'src', 'cli', 'warm-compile-cache.ts')];

/** Where `npm run build` puts the server: `dist/server/server.js` is what `npm start` runs. */
export const serverDir = join(root, 'dist', 'server');

/**
 * Builds `entries` into `outDir` (emptied first), each module at its path under `base`. Their imports
 * of other packages must resolve as they do from the project: `outDir` within it, or beside a link
 * to its node_modules.
 */
export async function bundle(outDir: string, entries: string[] = serverEntries, base = join(root, 'src')): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    input: entries,
    platform: 'node',
    cwd: root,
    logLevel: 'warn',
    external: (id, importer) => {
      if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0') || id.startsWith('@kubernetes/client-node')) return false;
      // A package client-node has a version of its own for would, once built, resolve to the
      // project's version instead. None has today; refuse to build if one ever does.
      const name = id.split('/').slice(0, id.startsWith('@') ? 2 : 1).join('/');
      if (importer?.startsWith(clientNode) && existsSync(join(clientNode, 'node_modules', name))) {
        throw new Error(`@kubernetes/client-node has its own ${name}; the build would load the project's`);
      }
      return true;
    },
    treeshake: {
      // client-node's modules do nothing when loaded but define what they export, so the unused
      // ones can be left out. Checked for its version: the one top-level statement is polyfill.js's,
      // which sets globalThis.File where it is missing (Node 18); Node 24 has it.
      moduleSideEffects: (id, external) => external || !id.startsWith(join(clientNode, 'dist')),
    },
    output: {
      dir: outDir,
      format: 'esm',
      preserveModules: true,
      preserveModulesRoot: base,
      // client-node's copies under vendor/: under a node_modules path, Node would not take the
      // project's package.json for theirs and so not know them as ES modules.
      entryFileNames: (chunk) => `${chunk.name.replace(/^node_modules\//, 'vendor/')}.js`,
      sourcemap: true,
    },
  });
}

/** The `kubevend` command (the package's bin): one file, run by Node alone. */
export const cliFile = join(root, 'dist', 'kubevend.js');

/**
 * The GitHub Action's code, which action.yml runs: committed, since a workflow runs the action from
 * its repository as it is, without a build. test/action.test.ts checks it is built from the source.
 */
export const actionBuild = { file: join(root, 'action', 'index.js'), entry: join(root, 'src', 'cli', 'kubevend', 'github-action.ts') };

/**
 * Builds the `kubevend` command into one file that imports only Node's own modules: a CI job runs
 * it without installing the server's dependencies, and it starts without loading them. Refuses to
 * build when the command's sources import a package.
 */
export async function bundleCli(outFile = cliFile, entry = join(root, 'src', 'cli', 'kubevend', 'main.ts')): Promise<void> {
  await build({
    input: entry,
    platform: 'node',
    cwd: root,
    logLevel: 'warn',
    external: (id) => {
      if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0')) return false;
      if (id.startsWith('node:')) return true;
      throw new Error(`the kubevend command imports ${id}; it may import only Node's own modules`);
    },
    output: { file: outFile, format: 'esm', codeSplitting: false, minify: false },
  });
}

if (import.meta.main) {
  await bundle(serverDir);
  process.stdout.write(`built ${relative(root, join(serverDir, 'server.js'))}\n`);
  await bundleCli();
  process.stdout.write(`built ${relative(root, cliFile)}\n`);
  await bundleCli(actionBuild.file, actionBuild.entry);
  process.stdout.write(`built ${relative(root, actionBuild.file)}\n`);
}
