// Summarises a V8 CPU profile (node --cpu-prof): the functions with the most self time, and self
// time by package or project directory:  node bench/profile/top-frames.ts FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, n = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  const own = /\/(src|bench)\/(.*)$/.exec(url);
  if (own) return `${own[1]}/${own[2]!.split('/').slice(0, -1).join('/') || '.'}`;
  return url.startsWith('node:') ? url : url ? 'other' : '(native, GC, idle)';
};
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
const functions = new Map<string, number>();
const places = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  add(functions, `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}`, us);
  add(places, where(url), us);
}
// Inclusive time of the project's own functions: each sample counts once for every one on its stack.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
    const own = /\/(src|bench)\/(.*)$/.exec(url);
    if (own) seen.add(`${functionName || '(anonymous)'} ${own[1]}/${own[2]}:${lineNumber + 1}`);
  }
  for (const key of seen) add(inclusive, key, profile.timeDeltas[i] ?? 0);
});
const top = (map: Map<string, number>, count: number) =>
  [...map].sort((a, b) => b[1] - a[1]).slice(0, count).map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`).join('\n');
process.stdout.write(`${(total / 1e6).toFixed(2)} s sampled\n\nself time by place:\n${top(places, 15)}\n\ntop functions by self time:\n${top(functions, Number(n))}\n\nproject functions by inclusive time:\n${top(inclusive, Number(n))}\n`);
