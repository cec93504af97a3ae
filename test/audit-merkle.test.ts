import { describe, expect, it } from 'vitest';
import { inclusionProof, merkleRoot, rootFromInclusionProof } from '../src/ledger/merkle.ts';

// The leaves of RFC 6962's (and RFC 9162's) reference test vectors, as Certificate Transparency's
// implementations test them.
const vectorLeaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));

describe('the receipts\' Merkle tree', () => {
  it('when built over the reference leaves, then its heads are the published ones', () => {
    expect(merkleRoot([]).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(merkleRoot(vectorLeaves.slice(0, 1)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(merkleRoot(vectorLeaves).toString('hex')).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  });

  it('when a proof is made for any leaf of any size, then it leads to the head, and to nothing for another leaf or an index past the tree', () => {
    for (let size = 1; size <= 33; size++) {
      const leaves = Array.from({ length: size }, (_, i) => Buffer.from(`record ${i}`));
      const root = merkleRoot(leaves);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(leaves, index);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
        expect(rootFromInclusionProof(index, size, leaves[index]!, proof)).toEqual(root);
        if (size > 1) expect(rootFromInclusionProof(index, size, leaves[(index + 1) % size]!, proof)).not.toEqual(root);
        expect(rootFromInclusionProof(size, size, leaves[index]!, proof)).toBeUndefined();
      }
    }
  });
});
