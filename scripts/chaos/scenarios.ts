import { setTimeout as sleep } from 'node:timers/promises';
import { startOwnPostgres } from '../../test/helpers/own-postgres.ts';
import { tokenReviewer, type ClusterAccess } from './cluster.ts';
import type { Component, OwnControlPlane } from './control-plane.ts';
import { startFleet, type Answer, type Fleet } from './fleet.ts';
import { underLoad, type ScenarioResult, type Timing } from './harness.ts';
import { outcomeOf, summarise, type Check } from './invariants.ts';
import { fill, smallVolume } from './volume.ts';

// The faults a CI fleet's kubevend meets, each on real processes: its own server killed, the API
// server hung or killed, etcd killed, PostgreSQL restarted, SQLite's disk full, the policy broken.

export interface ChaosContext {
  /** Scratch space, removed after the run. */
  dir: string;
  /** The cluster of the scenarios that do not fault the control plane. */
  cluster: ClusterAccess;
  /** The suite's own control plane, for the faults of the API server and etcd: started once, on first use. */
  ownControlPlane: () => Promise<OwnControlPlane>;
}

export interface Scenario {
  id: string;
  title: string;
  /** The fault as a test names it: "when ..." */
  when: string;
  run(ctx: ChaosContext, timing: Timing): Promise<ScenarioResult>;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** The answers meanwhile are all credentials or the one refusal this fault calls for: fail closed, never a 500 or a dropped connection. */
const onlyAnswers = (allowed: string[]) => (answers: Answer[]): Check => {
  const other = answers.filter((a) => a.status !== 201 && !allowed.includes(outcomeOf(a)));
  return {
    invariant: `every answer a 201${allowed.length ? ` or ${allowed.join(', ')}` : ''}`,
    held: other.length === 0,
    detail: other.length ? `also ${summarise(other.map(outcomeOf))}` : `${answers.length} answers`,
  };
};

async function run(name: string, title: string, ctx: ChaosContext, timing: Timing, access: ClusterAccess, setUp: (fleet: Fleet) => Promise<{
  fault: () => Promise<string>; close?: () => Promise<void>; answersHold?: (answers: Answer[]) => Check;
}>, fleetOptions: { databaseUrl?: string; sqliteDir?: string } = {}): Promise<ScenarioResult> {
  const fleet = await startFleet({ name, access, dir: ctx.dir, ...fleetOptions });
  const reviewer = await tokenReviewer(access);
  try {
    const { fault, close, answersHold } = await setUp(fleet);
    return await underLoad(fleet, timing, {
      id: name, title, fault, ...(answersHold ? { answersHold } : {}),
      close: async () => {
        reviewer.close();
        await fleet.close();
        await close?.();
      },
    }, reviewer.accepts);
  } catch (err) {
    reviewer.close();
    await fleet.close();
    throw err;
  }
}

const controlPlaneFault = (component: Component, how: 'freeze' | 'kill') => async (ctx: ChaosContext, timing: Timing, name: string, title: string) => {
  const cp = await ctx.ownControlPlane();
  return run(name, title, ctx, timing, cp.access, async (fleet) => {
    await fleet.add();
    return {
      fault: async () => {
        const started = Date.now();
        if (how === 'freeze') {
          const thaw = await cp.freeze(component);
          await sleep(timing.hangS * 1000);
          thaw();
          return `SIGSTOP to ${component} for ${timing.hangS} s under ${timing.jobs} jobs' load, then SIGCONT.`;
        }
        // etcd is left down a moment: kube-apiserver's own restart is outage enough.
        await cp.killAndRestart(component, component === 'etcd' ? 2_000 : 0);
        return `SIGKILL to ${component} under ${timing.jobs} jobs' load, then the same command line again on the same data; the API server ready again ${seconds(Date.now() - started)} s after the kill.`;
      },
    };
  });
};

export const scenarios: Scenario[] = [
  {
    id: 'kubevend-kill', title: 'kill -9 of a kubevend server under load',
    when: 'a kubevend server is killed (SIGKILL) under load and started again on the same store',
    run: (ctx, timing) => run('kubevend-kill', 'kill -9 of a kubevend server under load', ctx, timing, ctx.cluster, async (fleet) => {
      await fleet.add();
      return {
        fault: async () => {
          await fleet.kill9(0);
          const killed = Date.now();
          await fleet.restart(0);
          return `SIGKILL to the only replica (SQLite) under ${timing.jobs} jobs' load, then a new process on the same store, listening ${seconds(Date.now() - killed)} s later.`;
        },
      };
    }),
  },
  {
    id: 'apiserver-stop', title: 'the API server stopped (SIGSTOP), then continued',
    when: 'the API server is stopped (SIGSTOP) under load, then continued',
    run: (ctx, timing) => controlPlaneFault('kube-apiserver', 'freeze')(ctx, timing, 'apiserver-stop', 'the API server stopped (SIGSTOP), then continued'),
  },
  {
    id: 'apiserver-kill', title: 'the API server killed and restarted',
    when: 'the API server is killed under load and started again',
    run: (ctx, timing) => controlPlaneFault('kube-apiserver', 'kill')(ctx, timing, 'apiserver-kill', 'the API server killed and restarted'),
  },
  {
    id: 'etcd-kill', title: 'etcd killed and restarted on the same data',
    when: 'etcd is killed under load and started again on the same data',
    run: (ctx, timing) => controlPlaneFault('etcd', 'kill')(ctx, timing, 'etcd-kill', 'etcd killed and restarted on the same data'),
  },
  {
    id: 'postgres-restart', title: 'PostgreSQL restarted under load, two replicas',
    when: 'PostgreSQL restarts under the load of two replicas',
    run: async (ctx, timing) => {
      const postgres = await startOwnPostgres();
      try {
        return await run('postgres-restart', 'PostgreSQL restarted under load, two replicas', ctx, timing, ctx.cluster, async (fleet) => {
          await Promise.all([fleet.add(), fleet.add()]);
          return {
            fault: async () => {
              const started = Date.now();
              await postgres.restart();
              return `\`pg_ctl restart -m fast\` under ${timing.jobs} jobs' load spread over two replicas; back ${seconds(Date.now() - started)} s later.`;
            },
            close: () => postgres.stop(),
            answersHold: onlyAnswers(['503 store_unavailable']),
          };
        }, { databaseUrl: postgres.url });
      } catch (err) {
        await postgres.stop();
        throw err;
      }
    },
  },
  {
    id: 'sqlite-full', title: 'the SQLite volume full',
    when: 'the SQLite volume fills up under load, then has room again',
    run: async (ctx, timing) => {
      const volume = await smallVolume(ctx.dir, 8);
      try {
        return await run('sqlite-full', 'the SQLite volume full', ctx, timing, ctx.cluster, async (fleet) => {
          await fleet.add();
          return {
            fault: async () => {
              const filler = await fill(volume.path);
              await sleep(timing.faultS * 1000);
              await filler.remove();
              return `The database's directory on ${volume.kind}; a file filled it to the last byte (${filler.mb} MB) for ${timing.faultS} s under ${timing.jobs} jobs' load, then was removed.`;
            },
            close: () => volume.release(),
            answersHold: onlyAnswers(['503 store_unavailable']),
          };
        }, { sqliteDir: volume.path });
      } catch (err) {
        await volume.release();
        throw err;
      }
    },
  },
  {
    id: 'policy-invalid', title: 'the policy replaced by an invalid file, then a valid one',
    when: 'the policy file is replaced by an invalid one under load, then by a valid one',
    run: (ctx, timing) => run('policy-invalid', 'the policy replaced by an invalid file, then a valid one', ctx, timing, ctx.cluster, async (fleet) => {
      await fleet.add();
      const readiness = async () => (await (await fetch(`${fleet.replicas[0]!.url}/readyz`)).json()) as { checks: { policy: { version: string; reloadError?: unknown } } };
      const waitFor = async (done: (r: Awaited<ReturnType<typeof readiness>>) => boolean) => {
        for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) if (done(await readiness())) return true;
        return false;
      };
      return {
        fault: async () => {
          const good = await fleet.currentPolicy();
          const { version } = (await readiness()).checks.policy;
          // A plausible mistake: a grant naming a cluster the file does not declare.
          await fleet.replacePolicy(good.replace(/cluster: local\n/, 'cluster: nowhere\n'));
          const refusedAt = Date.now();
          const refused = await waitFor((r) => r.checks.policy.reloadError !== undefined);
          const noticed = seconds(Date.now() - refusedAt);
          await sleep(timing.faultS * 1000);
          await fleet.replacePolicy(fleet.policy(90_000));
          const loaded = await waitFor((r) => r.checks.policy.reloadError === undefined && r.checks.policy.version !== version);
          return `The policy file replaced (a rename over it) by one whose grant names an undeclared cluster, `
            + `${refused ? `refused in /readyz after ${noticed} s` : 'NOT shown refused in /readyz within 10 s'}, for ${timing.faultS} s under load; `
            + `then by a valid one, ${loaded ? 'loaded' : 'NOT loaded within 10 s'}.`;
        },
        answersHold: onlyAnswers([]),
      };
    }),
  },
];
