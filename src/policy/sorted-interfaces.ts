// Key-sorted interface lists (PolicyModel.interfaces, byNetwork), patched instead of re-sorted.

import type { ManagedInterface } from './types.js';

/**
 * A key-sorted list without the `removed` keys and with `upserts` (sorted by key) in place: their
 * slots when the keys were there before (a pod changed in place: a copy and a binary search per
 * interface), merged in otherwise.
 */
export function patchByKey(
  list: readonly ManagedInterface[],
  removed: ReadonlySet<string>,
  upserts: readonly ManagedInterface[],
): ManagedInterface[] {
  const replacing = new Set(upserts.map((i) => i.key));
  if ([...removed].every((k) => replacing.has(k))) {
    const out = [...list];
    let inPlace = true;
    for (const i of upserts) {
      const at = indexByKey(out, i.key);
      if (at < 0) {
        inPlace = false;
        break;
      }
      out[at] = i;
    }
    if (inPlace) return out;
  }
  const kept = list.filter((i) => !removed.has(i.key) && !replacing.has(i.key));
  return mergeByKey(
    kept,
    [...upserts].sort((a, b) => (a.key < b.key ? -1 : 1)),
  );
}

/** Index of `key` in a key-sorted list, or -1. */
function indexByKey(list: readonly ManagedInterface[], key: string): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = list[mid]!.key;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Two key-sorted lists merged into one. */
function mergeByKey(a: readonly ManagedInterface[], b: readonly ManagedInterface[]): ManagedInterface[] {
  const out: ManagedInterface[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.key < b[j]!.key)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
