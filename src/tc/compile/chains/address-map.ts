// An address map written as longest-prefix rules: disjoint address pieces, each with a decision,
// and a fallback for every other address (see prefix-rules.ts).

import { ChainSet, type PendingAction, type PendingFilter } from './chain-set.js';
import { carriersOf } from './encapsulation.js';
import { decide } from './port-chains.js';
import { FAMILY_BITS, type PrefixMapState, type PrefixRuleGroup, prefixRuleGroups } from './prefix-rules.js';
import { type CarrierActions, onCarrier } from './vocabulary.js';
import { NO_PORTS } from '../decisions/rule-ports.js';
import { portSetKey } from '../../../policy/ports.js';
import type { PortSet } from '../../../policy/types.js';
import type { FlowerMatch } from '../../ir.js';
import { prefixSlot } from '../../layout.js';
import { type Family, formatAddress, type Piece } from '../../../util/ip/index.js';

/** One family's address decisions: disjoint pieces, and the fallback for every other address. */
interface AddressMap<V> {
  pieces: Piece<V>[];
  fallback: V;
  key: (v: V) => string;
  /** Actions and note of the filters that give a prefix the value `v`. */
  act: (v: V) => { actions: CarrierActions; note: string };
}

/** Equal text, equal actions (a JSON dump of them, written for every decision of a map, cost more). */
function actionsSig(actions: PendingAction[]): string {
  // NUL ends each action: it appears in no chain name or number.
  let out = '';
  for (const a of actions) {
    if (a.kind === 'gotoRef') out += `>${a.ref}\0`;
    else if (a.kind === 'goto') out += `#${a.chain}\0`;
    else if (a.kind === 'ct') out += a.commit ? 'ct commit\0' : 'ct\0';
    else out += `${a.kind}\0`;
  }
  return out;
}

/** What an emitted address map leaves for the next version of the same map. */
export interface AddressMapState {
  prefixes: PrefixMapState;
  /** The filters written per rule group, and the decisions (`act`) they were written with. */
  filters: Map<PrefixRuleGroup, { sig: string; filters: PendingFilter[] }>;
}

/**
 * Emit the map as longest-prefix rules, one filter per frame shape and rule, a /N rule at the prio
 * of its length (longer first). Addresses the rules leave to the fallback fall through to the
 * filters in FALLBACK_SLOT, which the caller writes. The whole address space is "no address key":
 * the kernel does not match a /0 prefix the way the simulator would (measured: src_ip 0.0.0.0/0
 * matched nothing).
 *
 * With the state of the map's previous version, rule groups that did not change keep their
 * filters (the same objects) as long as their decisions render the same.
 */
export function emitAddressMap<V>(
  out: PendingFilter[],
  family: Family,
  matchKey: 'srcIp' | 'dstIp',
  map: AddressMap<V>,
  previous?: AddressMapState,
): AddressMapState {
  const fallbackKey = map.key(map.fallback);
  const byKey = new Map<string, V>([[fallbackKey, map.fallback]]);
  const keyed = map.pieces.map((p) => {
    const k = map.key(p.value);
    byKey.set(k, p.value);
    return { interval: p.interval, key: k };
  });
  const { groups, state } = prefixRuleGroups(keyed, fallbackKey, family, previous?.prefixes);
  const bits = FAMILY_BITS[family];
  const carriers = carriersOf(family);
  // Decisions are looked up once per key (this also registers the port chains they go to).
  const acts = new Map<string, { actions: CarrierActions; note: string; sig: string }>();
  const actOf = (k: string) => {
    let a = acts.get(k);
    if (!a) {
      const { actions, note } = map.act(byKey.get(k)!);
      let sig = note;
      for (const c of carriers) sig += `\n${actionsSig(actions(c))}`;
      a = { actions, note, sig };
      acts.set(k, a);
    }
    return a;
  };
  const filters: AddressMapState['filters'] = new Map();
  for (const g of groups) {
    const sig = g.keys.map((k) => actOf(k).sig).join('\n');
    let entry = previous?.filters.get(g);
    if (!entry || entry.sig !== sig) {
      const list: PendingFilter[] = [];
      // Each rule's match once, for every frame shape.
      const rules = g.rules.map((r) => {
        const cidr = r.len === 0 ? undefined : `${formatAddress(r.lo, family)}/${r.len}`;
        const match: FlowerMatch =
          cidr === undefined ? {} : matchKey === 'srcIp' ? { srcIp: cidr } : { dstIp: cidr };
        return { r, match };
      });
      for (const c of carriers) {
        for (const { r, match } of rules) {
          const a = actOf(r.key);
          list.push(onCarrier(c, prefixSlot(bits, r.len), match, a.actions(c), a.note));
        }
      }
      entry = { sig, filters: list };
    }
    filters.set(g, entry);
    for (const f of entry.filters) out.push(f);
  }
  return { prefixes: state, filters };
}

/** An address map whose decisions are port sets (nothing allowed outside the pieces). */
export function emitPortMap(
  set: ChainSet,
  out: PendingFilter[],
  family: Family,
  matchKey: 'srcIp' | 'dstIp',
  pieces: Piece<PortSet>[],
  note: (ps: PortSet) => string,
  previous: AddressMapState | undefined,
): AddressMapState {
  return emitAddressMap(
    out,
    family,
    matchKey,
    {
      pieces,
      fallback: NO_PORTS,
      key: portSetKey,
      act: (ps) => ({ actions: decide(set, family, ps), note: note(ps) }),
    },
    previous,
  );
}
