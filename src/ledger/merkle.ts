import { createHash } from 'node:crypto';

// The Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1: its leaves here are the
// records' chain hashes, so a tree commits to every field of every record in it.

const sha256 = (...parts: Buffer[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export const leafHash = (data: Buffer): Buffer => sha256(Buffer.of(0), data);
const nodeHash = (left: Buffer, right: Buffer): Buffer => sha256(Buffer.of(1), left, right);

/** The largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes already computed. */
function rootOfLeaves(leaves: Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 0) return sha256();
  if (n === 1) return leaves[from]!;
  const k = split(n);
  return nodeHash(rootOfLeaves(leaves, from, from + k), rootOfLeaves(leaves, from + k, to));
}

/** The tree head over `data` (each entry one leaf's input). */
export function merkleRoot(data: Buffer[]): Buffer {
  return rootOfLeaves(data.map(leafHash), 0, data.length);
}

/** PATH(m, D[n]): the audit path of leaf `index` in the tree over `data`. */
export function inclusionProof(data: Buffer[], index: number): Buffer[] {
  if (index < 0 || index >= data.length) throw new RangeError(`leaf ${index} is not in a tree of ${data.length}`);
  const leaves = data.map(leafHash);
  const path: Buffer[] = [];
  const walk = (m: number, from: number, to: number) => {
    const n = to - from;
    if (n <= 1) return;
    const k = split(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push(rootOfLeaves(leaves, from + k, to));
    } else {
      walk(m - k, from + k, to);
      path.push(rootOfLeaves(leaves, from, from + k));
    }
  };
  walk(index, 0, leaves.length);
  return path;
}

/** RFC 9162 2.1.3.2: the root that `proof` leads to from leaf `index` of `size`, or undefined when it cannot. */
export function rootFromInclusionProof(index: number, size: number, data: Buffer, proof: Buffer[]): Buffer | undefined {
  if (!(index >= 0 && index < size)) return undefined;
  let [fn, sn, r] = [index, size - 1, leafHash(data)];
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (!(fn % 2 === 1 || fn === 0)) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}
