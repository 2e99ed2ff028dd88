// A short, fixed-length name for a long content key. The compiler names chains and cache entries
// by what they hold; some contents (the allowed sources of a pod, a pod's egress rules as address
// pieces) run to tens of kilobytes, and a key that long costs its whole length on every map
// lookup, comparison and sort. SHA-256 truncated to 128 bits keeps names deterministic (a function
// of the content alone) while making a collision between two different contents negligible.

import { createHash } from 'node:crypto';

export function contentDigest(content: string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}
