// kubevend's entry (`npm start` runs it built: scripts/bundle.ts). Node's compile cache is enabled
// before the rest of kubevend is loaded: most of a start is loading modules (some 1,200 files,
// kubevend's own and the packages'), and with the cache a start reuses the code an earlier one
// compiled.
// It goes to NODE_COMPILE_CACHE if set (the image sets one and fills it at build), otherwise to
// Node's default directory under the system's temporary directory; NODE_DISABLE_COMPILE_CACHE=1
// turns it off. A cache that cannot be written (a read-only file system) is only not used.
import { enableCompileCache } from 'node:module';

enableCompileCache();
const { main, startFailure } = await import('./main.ts');
main().catch(startFailure);
