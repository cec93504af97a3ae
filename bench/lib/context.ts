import { join } from 'node:path';
import type { BuiltEntries } from './build.ts';
import type { CiIssuer } from './ci-tokens.ts';
import { runCommand } from './process.ts';

/** What every scenario gets from the run. */
export interface BenchContext {
  /** BENCH_QUICK=1: fewer requests and smaller ledgers, for development. */
  quick: boolean;
  /** Scratch directory of the run, removed at its end. */
  dir: string;
  kubeconfig: string;
  kubectl: string;
  /** The control plane's directory (its pid files). */
  controlPlaneDir: string;
  /** URL of the PostgreSQL database the run may create other databases through. */
  databaseUrl: string;
  ci: CiIssuer;
  /** The server and bench/servers/ built as `npm run build` builds the server (lib/build.ts). */
  built: BuiltEntries;
  /** Wall-clock time (ms) by which the run should be done; long steps cut themselves short. */
  deadline: number;
}

/** The full run's number, or the quick run's. */
export const scale = (ctx: BenchContext, full: number, quick: number): number => (ctx.quick ? quick : full);

export function log(message: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

export function kubectl(ctx: BenchContext, args: string[]): Promise<string> {
  return runCommand(ctx.kubectl, ['--kubeconfig', ctx.kubeconfig, ...args], { timeoutMs: 60_000 });
}

/** A namespace holding the ServiceAccount `deployer` that the bench grants issue for. */
export async function prepareNamespace(ctx: BenchContext, name: string): Promise<void> {
  await kubectl(ctx, ['create', 'namespace', name]);
  await kubectl(ctx, ['-n', name, 'create', 'serviceaccount', 'deployer']);
}

export const scratch = (ctx: BenchContext, file: string) => join(ctx.dir, file);
