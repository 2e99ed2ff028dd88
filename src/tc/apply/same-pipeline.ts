// Whether two desired pipelines of a device would put the same filters in the kernel. The
// reconciler reads back a device only when its desired pipeline may have changed since it was last
// written or verified; this is that test. The node compiler returns an unchanged device as the
// same object (src/tc/compile/node.ts), so the identity check answers most calls; a full model
// rebuild (a policy or namespace change) gives new objects, and then the contents are compared,
// stopping at the first difference. Notes and purposes never reach the kernel: ignored.

import type { Action, DevicePipeline, Filter, FlowerMatch } from '../ir.js';

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

function sameMatch(a: FlowerMatch, b: FlowerMatch): boolean {
  if (a === b) return true;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof FlowerMatch>;
  for (const k of keys) if (!sameValue(a[k], b[k])) return false;
  return true;
}

function sameAction(a: Action, b: Action): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'goto') return a.chain === (b as typeof a).chain;
  if (a.kind === 'ct') return a.commit === (b as typeof a).commit;
  return true;
}

function sameFilter(a: Filter, b: Filter): boolean {
  return (
    a === b ||
    (a.prio === b.prio &&
      a.protocol === b.protocol &&
      a.actions.length === b.actions.length &&
      a.actions.every((x, i) => sameAction(x, b.actions[i]!)) &&
      sameMatch(a.match, b.match))
  );
}

export function samePipeline(a: DevicePipeline, b: DevicePipeline): boolean {
  if (a === b) return true;
  if (
    a.device !== b.device ||
    a.kind !== b.kind ||
    (a.skipSw ?? false) !== (b.skipSw ?? false) ||
    a.chains.length !== b.chains.length
  )
    return false;
  for (let i = 0; i < a.chains.length; i++) {
    const x = a.chains[i]!;
    const y = b.chains[i]!;
    if (x === y) continue;
    if (x.index !== y.index || x.filters.length !== y.filters.length) return false;
    if (x.filters === y.filters) continue;
    for (let j = 0; j < x.filters.length; j++) if (!sameFilter(x.filters[j]!, y.filters[j]!)) return false;
  }
  return true;
}
