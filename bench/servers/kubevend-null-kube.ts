// The entry of kubevend with the zero-latency gateway (null-kube-app.ts): as src/server.ts, it
// enables Node's compile cache before the rest is loaded, so that its memory is the server's.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./null-kube-app.ts');
