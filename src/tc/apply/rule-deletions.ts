// What `tc monitor` prints when rules are deleted, read into the few facts the reconciler needs
// to tell whether someone else removed rules a device depends on (Reconciler.noticeDeletion).
// Lines look like (iproute2):
//   deleted qdisc clsact ffff: dev eth1 parent ffff:fff1 refcnt 0
//   deleted filter dev eth1 ingress protocol all pref 1 flower chain 0 handle 0x1 ...
//   deleted chain dev eth1 parent ffff: chain 10002
// Everything else (additions, other qdisc kinds, egress filters) is undefined: not a deletion
// that can remove the agent's rules.

export type RuleDeletion =
  | { what: 'qdisc'; device: string }
  | { what: 'chain'; device: string; chain: number }
  | { what: 'filter'; device: string; chain: number; pref: number | undefined };

const DEV = /\bdev (\S+)/;
const CHAIN = /\bchain (\d+)/;
const PREF = /\bpref (\d+)/;

export function parseRuleDeletion(line: string): RuleDeletion | undefined {
  if (!line.startsWith('deleted ')) return undefined;
  const rest = line.slice('deleted '.length);
  const device = DEV.exec(rest)?.[1];
  if (device === undefined) return undefined;
  if (rest.startsWith('qdisc ')) {
    const kind = rest.split(' ')[1];
    return kind === 'clsact' || kind === 'ingress' ? { what: 'qdisc', device } : undefined;
  }
  // A filter or chain without "chain N" is in chain 0 (iproute2 prints it only when the kernel sends it).
  const chain = Number(CHAIN.exec(rest)?.[1] ?? 0);
  if (rest.startsWith('chain ')) return { what: 'chain', device, chain };
  if (rest.startsWith('filter ')) {
    if (/ egress /.test(rest)) return undefined;
    const pref = PREF.exec(rest)?.[1];
    return { what: 'filter', device, chain, pref: pref === undefined ? undefined : Number(pref) };
  }
  return undefined;
}
