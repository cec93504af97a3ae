// Prints the summary of a V8 CPU profile (node --cpu-prof):
//   node bench/profile/top-frames.ts FILE.cpuprofile [N]
import { summariseProfile, type Shares } from './summary.ts';

const [file, n = '25'] = process.argv.slice(2);
const summary = await summariseProfile(file!, Number(n));
const list = (shares: Shares) => shares.map(([name, share]) => `${(share * 100).toFixed(1).padStart(5)} %  ${name}`).join('\n');
process.stdout.write(`${(summary.busyMs / 1000).toFixed(2)} s busy\n\nself time by place:\n${list(summary.places)}\n\n`
  + `functions by self time:\n${list(summary.functions)}\n\nproject functions by inclusive time:\n${list(summary.ownInclusive)}\n`);
