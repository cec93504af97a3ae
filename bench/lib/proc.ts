import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './process.ts';

// What other processes (the API server, etcd, a kubevend server) use, from /proc: CPU time (user +
// system, in ms, at the kernel's clock-tick resolution of 10 ms, which long loads make small) and
// resident memory.

const tickMs = 10;

export function cpuMsOf(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 14th and 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * tickMs;
}

/** Resident memory, MB: all of it, what is backed by files (mostly code) and what is anonymous (heaps). */
export function rssOf(pid: number): { totalMb: number; fileMb: number; anonMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { totalMb: mb('VmRSS'), fileMb: mb('RssFile'), anonMb: mb('RssAnon') };
}

export type CpuMeter = () => Record<string, number>;

/** Reads every named process's CPU time now; call the result again for what each used since. */
export function meterCpu(pids: Record<string, number>): CpuMeter {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid)]));
  return () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid) - start[name]!]));
}

/** The control plane's processes, from the pid files its script writes. */
export function controlPlanePids(dir: string): Record<string, number> {
  const pid = (name: string) => Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim());
  return { 'kube-apiserver': pid('kube-apiserver'), etcd: pid('etcd'), 'kube-controller-manager': pid('kube-controller-manager') };
}

/**
 * Sets the CPUs every thread of `pid` may run on (`taskset`; `cpus` as `0`, `1` or `0-1`). Threads
 * and children made afterwards inherit it from the thread that makes them.
 */
export function pinTo(pid: number, cpus: string): Promise<string> {
  return runCommand('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, `${pid}`], { timeoutMs: 10_000 });
}
