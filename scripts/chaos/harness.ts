import { setTimeout as sleep } from 'node:timers/promises';
import type { LiveObject } from './cluster.ts';
import { startLoad, type Answer, type Fleet } from './fleet.ts';
import { checkIssued, checkReplay, checkResources, leftovers, outcomeOf, recordStates, resourcesOf, summarise, verifyLedger, type Check, type Resources } from './invariants.ts';

// One scenario's course: a fleet under load, the fault, then the time until it has healed and the
// invariants, checked once it has.

export interface Timing {
  /** Load before the fault, so that the figures taken then are of a warm process. */
  warmS: number;
  /** How long a fault that lasts (a stopped process, a full disk, an invalid policy) is held. */
  faultS: number;
  /** How long the API server is kept stopped: in the full run past kubevend's 15 s deadline for a Kubernetes call. */
  hangS: number;
  /** Load after service is back. */
  afterS: number;
  /** The issue's goal: healed within this many seconds of the fault's end. */
  goalS: number;
  /** How long to keep watching, in the background, what has not healed by the goal; 0: not at all. */
  lateS: number;
  jobs: number;
}

export const shortTiming: Timing = { warmS: 2, faultS: 3, hangS: 3, afterS: 1, goalS: 15, lateS: 0, jobs: 4 };
export const fullTiming: Timing = { warmS: 8, faultS: 10, hangS: 20, afterS: 5, goalS: 15, lateS: 200, jobs: 6 };

export interface ScenarioResult {
  id: string;
  title: string;
  /** What was done, in a sentence or two. */
  done: string;
  checks: Check[];
  /** Every answer the jobs got, counted by outcome. */
  outcomes: string;
  /** Seconds from the fault's end until a request sent after it got a credential. */
  serviceBackS: number | null;
  /** Seconds from the fault's end until no object of a refused request was left (null: not within what was watched). */
  cleanS: number | null;
  /** Whether every invariant held and it healed within the goal. */
  held: boolean;
  /** Settles once what was still healing after the goal has been watched and the fleet is gone. */
  settled: Promise<void>;
}

export interface Fault {
  /** Does the fault and ends it; resolves to what was done. */
  (): Promise<string>;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function until<T>(ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T | undefined> {
  for (const deadline = Date.now() + ms; ; await sleep(250)) {
    const found = await probe();
    if (found !== undefined || Date.now() >= deadline) return found;
  }
}

/** Objects still live for requests that got no credential, grouped by what the store says of their issuance. */
async function strays(fleet: Fleet, answers: Answer[]): Promise<{ objects: (LiveObject & { state: string })[]; byState: string } | undefined> {
  let found: LiveObject[];
  try {
    found = await leftovers(fleet, answers);
  } catch {
    return undefined;
  }
  const states = found.length ? await recordStates(fleet).catch(() => new Map<string, string>()) : new Map<string, string>();
  const objects = found.map((o) => ({ ...o, state: states.get(o.issuance) ?? 'missing' }));
  return { objects, byState: summarise(objects.map((o) => `record ${o.state}`)) };
}

export async function underLoad(
  fleet: Fleet, timing: Timing,
  scenario: {
    id: string; title: string; fault: Fault; close: () => Promise<void>;
    /** What the jobs' answers must show for this fault, beyond the invariants every scenario checks. */
    answersHold?: (answers: Answer[]) => Check;
  },
  accepts: (token: string) => Promise<boolean>,
): Promise<ScenarioResult> {
  const load = startLoad(fleet, { jobs: timing.jobs });
  const issued = (after: number) => load.answers.find((a) => a.status === 201 && a.sentAt >= after);
  let before: Resources[], spent: Answer[], done: string, faultEnd: number, back: Answer | undefined;
  try {
    if (!(await until(30_000, () => issued(0)))) throw new Error(`no credential was issued before the fault: ${summarise(load.answers.map(outcomeOf))}`);
    await sleep(timing.warmS * 1000);
    before = await Promise.all(fleet.replicas.map((r) => resourcesOf(r.pid)));
    spent = load.answers.filter((a) => a.status === 201).slice(0, 5);
    done = await scenario.fault();
    faultEnd = Date.now();
    back = await until(Math.max(timing.goalS, 60) * 1000, () => issued(faultEnd));
    await sleep(timing.afterS * 1000);
  } finally {
    await load.stop();
  }
  const serviceBackS = back ? seconds(back.answeredAt - faultEnd) : null;
  const stoppedAt = Date.now();

  // Objects of requests that got no credential, watched until the goal (and at least once after the load).
  const deadline = Math.max(faultEnd + timing.goalS * 1000, stoppedAt + 3_000);
  let left = await until(deadline - Date.now(), async () => {
    const found = await strays(fleet, load.answers);
    return found && !found.objects.length ? found : undefined;
  });
  const cleanAt = left ? Date.now() : undefined;
  const firstPollClean = left && cleanAt! - stoppedAt < 1_000;
  left ??= await strays(fleet, load.answers);

  const after = await Promise.all(fleet.replicas.map((r) => resourcesOf(r.pid)));
  const objects: Check = {
    invariant: 'every non-201 leaves no live object once healed',
    held: cleanAt !== undefined,
    detail: cleanAt !== undefined
      ? `none left ${firstPollClean ? 'when first looked at, ' : ''}${seconds(cleanAt - faultEnd)} s after the fault's end`
      : `${left?.objects.length ?? '?'} objects (${left?.byState || 'the API server did not answer'}) still live ${seconds(Date.now() - faultEnd)} s after the fault's end`,
  };
  const checks = [
    await checkIssued(fleet, load.answers, accepts),
    objects,
    await verifyLedger(fleet),
    await checkReplay(fleet, spent),
    checkResources(before, after),
    ...(scenario.answersHold ? [scenario.answersHold(load.answers)] : []),
  ];
  const cleanS = cleanAt !== undefined ? seconds(cleanAt - faultEnd) : null;
  const healedS = serviceBackS !== null && cleanS !== null ? Math.max(serviceBackS, cleanS) : null;
  checks.push({
    invariant: `healed within the goal (${timing.goalS} s)`,
    held: healedS !== null && healedS <= timing.goalS,
    detail: `credentials again ${serviceBackS === null ? 'never' : `${serviceBackS} s after the fault's end`}; `
      + `refused requests' objects ${cleanS === null ? `still there at ${timing.goalS} s` : `gone ${cleanS} s after it`}`,
  });
  const result: ScenarioResult = {
    id: scenario.id, title: scenario.title, done, checks, serviceBackS, cleanS,
    outcomes: summarise(load.answers.map(outcomeOf)),
    held: checks.every((c) => c.held),
    settled: Promise.resolve(),
  };
  // What has not healed by the goal is watched on, while other scenarios run, to give its figure.
  result.settled = (async () => {
    if (cleanAt === undefined && timing.lateS > 0) {
      const late = await until(faultEnd + timing.lateS * 1000 - Date.now(), async () => {
        const found = await strays(fleet, load.answers);
        // Objects of an active record stay until it expires: a credential was issued, whether or not its answer arrived.
        return found && found.objects.every((o) => o.state === 'active') ? found : undefined;
      });
      objects.detail += late
        ? `; ${late.objects.length ? `all but those of active records (${late.byState})` : 'all'} gone ${seconds(Date.now() - faultEnd)} s after it`
        : `; still there ${timing.lateS} s after it`;
      if (late && !late.objects.length) result.cleanS = seconds(Date.now() - faultEnd);
    }
    await scenario.close();
  })();
  return result;
}
