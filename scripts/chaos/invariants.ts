import { readdir, readFile } from 'node:fs/promises';
import { liveObjects, type LiveObject } from './cluster.ts';
import type { Answer, Fleet } from './fleet.ts';

// What must hold once a fault has healed, each checked as a user or an operator would see it: the
// credentials handed out work and are on record, nothing refused is left in the cluster, the ledger
// verifies, a spent CI token stays spent, and the process has not grown.

export interface Check {
  invariant: string;
  held: boolean;
  detail: string;
}

export interface Resources {
  pid: number;
  rssKb: number;
  fds: number;
}

/** The process's resident memory and open files, from /proc. */
export async function resourcesOf(pid: number): Promise<Resources> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? NaN);
  return { pid, rssKb, fds: (await readdir(`/proc/${pid}/fd`)).length };
}

/** Every issuance record of the fleet's pipeline, by id, as an operator lists them. */
export async function recordStates(fleet: Fleet): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ pipeline: 'fleet', limit: '500', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${fleet.replicas[0]!.url}/v1/issuances?${query}`, { headers: await fleet.operator() });
    if (res.status !== 200) throw new Error(`listing issuances answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { items: { id: string; state: string }[]; nextCursor?: string | null };
    for (const item of page.items) states.set(item.id, item.state);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return states;
}

export async function checkIssued(fleet: Fleet, answers: Answer[], accepts: (token: string) => Promise<boolean>): Promise<Check> {
  const issued = answers.filter((a) => a.status === 201);
  const states = await recordStates(fleet);
  const notActive = issued.filter((a) => states.get(a.issuanceId!) !== 'active');
  const refused: string[] = [];
  const queue = [...issued];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let a = queue.shift(); a; a = queue.shift()) if (!a.kubeToken || !(await accepts(a.kubeToken))) refused.push(a.issuanceId!);
  }));
  return {
    invariant: 'every 201 holds an active record and a token the API server accepts',
    held: issued.length > 0 && notActive.length === 0 && refused.length === 0,
    detail: `${issued.length} credentials; ${notActive.length} without an active record`
      + `${notActive.length ? ` (${[...new Set(notActive.map((a) => states.get(a.issuanceId!) ?? 'none'))].join(', ')})` : ''}; `
      + `${refused.length} tokens refused by TokenReview`,
  };
}

/** Live objects of the installation that no 201 answer accounts for. */
export async function leftovers(fleet: Fleet, answers: Answer[]): Promise<LiveObject[]> {
  const issued = new Set(answers.filter((a) => a.status === 201).map((a) => a.issuanceId));
  return (await liveObjects(fleet.access, fleet.instance)).filter((o) => !issued.has(o.issuance));
}

export async function verifyLedger(fleet: Fleet): Promise<Check> {
  const res = await fetch(`${fleet.replicas.at(-1)!.url}/v1/audit/verify`, { headers: await fleet.operator() });
  const body = (await res.json()) as { ok?: boolean; count?: number; problem?: string; detail?: string };
  return {
    invariant: 'the audit ledger verifies',
    held: res.status === 200 && body.ok === true,
    detail: body.ok ? `${body.count} records verified` : `HTTP ${res.status}: ${body.problem ?? ''} ${body.detail ?? JSON.stringify(body)}`,
  };
}

/** Tokens that got a credential before the fault, presented again after it (to the last replica started). */
export async function checkReplay(fleet: Fleet, spent: Answer[]): Promise<Check> {
  const outcomes: string[] = [];
  for (const { token } of spent) {
    const res = await fetch(`${fleet.replicas.at(-1)!.url}/v1/credentials`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
    });
    outcomes.push(`${res.status} ${((await res.json()) as { code?: string }).code ?? ''}`.trim());
  }
  return {
    invariant: 'no CI token is accepted twice across the fault',
    held: spent.length > 0 && outcomes.every((o) => o === '401 token_replayed'),
    detail: `${spent.length} tokens spent before the fault, replayed after it: ${summarise(outcomes)}`,
  };
}

/** Generous bounds: open files within +20, resident memory within +50 %. */
export function checkResources(before: Resources[], after: Resources[]): Check {
  const pairs = before.map((b, i) => ({ b, a: after[i]! }));
  const held = pairs.every(({ b, a }) => a.fds <= b.fds + 20 && a.rssKb <= b.rssKb * 1.5);
  const mb = (kb: number) => (kb / 1024).toFixed(0);
  return {
    invariant: 'memory and open files back near where they were',
    held,
    detail: pairs.map(({ b, a }) => `${b.pid === a.pid ? `pid ${b.pid}` : `pid ${b.pid} → ${a.pid}`}: RSS ${mb(b.rssKb)} → ${mb(a.rssKb)} MB, open files ${b.fds} → ${a.fds}`).join('; '),
  };
}

/** `201 ×40, 503 store_unavailable ×3`: how many of each. */
export function summarise(outcomes: string[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return [...counts].sort((x, y) => y[1] - x[1]).map(([o, n]) => `${o} ×${n}`).join(', ') || 'none';
}

export const outcomeOf = (a: Answer) => (a.dropped ? `dropped (${a.dropped})` : `${a.status}${a.code ? ` ${a.code}` : ''}`);
