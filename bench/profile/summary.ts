import { readFile } from 'node:fs/promises';

// A V8 CPU profile (node --cpu-prof) summarised over the time the thread was busy (idle samples
// left out): self time by package or project directory, by function, and the project's own
// functions by inclusive time (each sample counted once for every one of them on its stack).

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

/** Name and share of busy time (0..1), largest first. */
export type Shares = [string, number][];

export interface ProfileSummary {
  busyMs: number;
  places: Shares;
  functions: Shares;
  ownInclusive: Shares;
}

/**
 * The built server (`dist/server/`, or `build/server/` in the bench's scratch) holds src/'s modules at
 * the same paths under server/: named as src/ here, as in the bench's own builds.
 */
function ownPath(url: string): string {
  return url.replace(/\/(?:dist|build)\/server\/(?!vendor\/)/, '/src/');
}

function place(functionName: string, url: string): string {
  // A package, in node_modules or (the modules the build copies) in vendor/.
  const pkg = /\/(?:node_modules|vendor)\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  // The project's own: from the last src/ or bench/ in the path (the bench builds under bench/).
  const own = /^.*\/(src|bench)\/(.*)$/.exec(ownPath(url));
  if (own) return `${own[1]}/${own[2]!.split('/').slice(0, -1).join('/') || '.'}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:');
  if (functionName === '(garbage collector)') return 'GC';
  return url ? 'other' : 'native code';
}

export async function summariseProfile(file: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const places = new Map<string, number>();
  const functions = new Map<string, number>();
  const ownInclusive = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  const frameName = ({ functionName, url, lineNumber }: ProfileNode['callFrame']) =>
    `${functionName || '(anonymous)'} ${ownPath(url).replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}`;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    busy += us;
    add(places, place(frame.functionName, frame.url), us);
    add(functions, frameName(frame), us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const callFrame = byId.get(at)!.callFrame;
      if (/\/src\//.test(ownPath(callFrame.url))) seen.add(frameName(callFrame));
    }
    for (const key of seen) add(ownInclusive, key, us);
  });
  const shares = (map: Map<string, number>): Shares => [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => [k, us / busy]);
  return { busyMs: busy / 1000, places: shares(places), functions: shares(functions), ownInclusive: shares(ownInclusive) };
}
