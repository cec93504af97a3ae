// Fills Node's compile cache with kubevend's modules without starting kubevend: the image runs it at
// build time, so that its starts reuse the compiled code even on a read-only root file system. The
// cache goes where `server.ts` looks for it: NODE_COMPILE_CACHE, or Node's default directory.
import { constants, enableCompileCache, flushCompileCache } from 'node:module';

const result = enableCompileCache();
if (result.status === constants.compileCacheStatus.FAILED) {
  process.stderr.write(`kubevend: the compile cache cannot be enabled: ${result.message}\n`);
  process.exit(1);
}
// Importing is loading: main.ts starts nothing until its `main()` is called.
await import('../main.ts');
flushCompileCache();
process.stdout.write(`compile cache: ${result.directory}\n`);
