// The chains every device has in the same role: chain 0 (classify: what passes untouched, what
// goes through conntrack) and chain 1 (state: what conntrack already knows).

import {
  type ChainFragment,
  ChainSet,
  NEW_CHAIN,
  type PendingAction,
  type PendingFilter,
  STATE_CHAIN,
} from './chain-set.js';
import { carriersOf, IP_CARRIERS, type IpCarrier, UNCLASSIFIED_TAGGED } from './encapsulation.js';
import { DROP, filter, onCarrier } from './vocabulary.js';
import { type CompileOptions, ND_TYPE_MATCHES } from '../options.js';
import type { FlowerMatch, MatchDraft } from '../../ir.js';

/** Chain 0: what passes untouched, what is dropped as unclassifiable, and conntrack for the rest. */
export function classifyChainFilters(
  opts: CompileOptions,
  track: (c: IpCarrier) => { match: FlowerMatch; note: string }[],
): PendingFilter[] {
  const f: PendingFilter[] = [];
  for (const c of carriersOf(6)) {
    if (opts.acceptIcmpv6) {
      f.push(onCarrier(c, 0, { ipProto: 'icmpv6' }, [{ kind: 'pass' }], 'ICMPv6 passes (--accept-icmpv6)'));
    } else {
      for (const t of ND_TYPE_MATCHES) {
        const match: MatchDraft = { ipProto: 'icmpv6', icmpType: t.type };
        if (t.mask !== undefined) match.icmpTypeMask = t.mask;
        f.push(onCarrier(c, 0, match, [{ kind: 'pass' }], `neighbour discovery: ${t.note}`));
      }
    }
  }
  if (opts.acceptIcmp) {
    for (const c of carriersOf(4)) {
      f.push(onCarrier(c, 0, { ipProto: 'icmp' }, [{ kind: 'pass' }], 'ICMP passes (--accept-icmp)'));
    }
  }
  for (const u of UNCLASSIFIED_TAGGED) {
    f.push(filter(1, u.protocol, u.keys, DROP, 'tag stack the pipeline does not classify'));
  }
  for (const c of IP_CARRIERS) {
    for (const t of track(c)) {
      const actions: PendingAction[] = c.stateless
        ? [{ kind: 'goto', chain: NEW_CHAIN }]
        : [
            { kind: 'ct', commit: false },
            { kind: 'goto', chain: STATE_CHAIN },
          ];
      f.push(onCarrier(c, 2, t.match, actions, c.stateless ? `${t.note}, judged without conntrack` : t.note));
    }
  }
  f.push(filter(3, 'all', {}, [{ kind: 'pass' }], 'everything else passes untouched (ARP, non-IP)'));
  return f;
}

export const CLASSIFY_PURPOSE = 'classify: pass untouched traffic, send IP through conntrack';

/** Chain 1: the conntrack state decides whether the policy needs to look at the packet at all. */
export function buildStateChain(set: ChainSet): void {
  set.replay(
    STATE_FILTERS,
    set.fixedChain(STATE_CHAIN, 'state: established and related pass, new goes to policy'),
  );
}

// The same on every device: one fragment, sorted once (see ChainSet.finish).
const STATE_FILTERS: ChainFragment = { filters: stateFilters(), chains: new Map() };

function stateFilters(): PendingFilter[] {
  const f: PendingFilter[] = [];
  f.push(
    filter(0, 'all', { ctState: '+trk+est' }, [{ kind: 'pass' }], 'packet of an established connection'),
  );
  f.push(filter(1, 'all', { ctState: '+trk+rel' }, [{ kind: 'pass' }], 'packet related to a connection'));
  f.push(filter(2, 'all', { ctState: '+trk+new' }, [{ kind: 'goto', chain: NEW_CHAIN }], 'new connection'));
  f.push(filter(3, 'all', {}, DROP, 'invalid or untrackable packet'));
  return f;
}
