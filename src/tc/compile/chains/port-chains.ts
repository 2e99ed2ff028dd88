// Port chains: "which ports are allowed" for one family and port set, named by their content so
// that every decision with the same ports shares one chain.

import { ChainSet, type PendingAction, type PendingFilter } from './chain-set.js';
import { carriersOf } from './encapsulation.js';
import {
  accept,
  type CarrierActions,
  describePorts,
  DROP,
  filter,
  onCarrier,
  PROTO_NAME,
} from './vocabulary.js';
import { portSetIsEmpty, portSetKey } from '../../../policy/ports.js';
import type { PortSet } from '../../../policy/types.js';
import type { MatchDraft } from '../../ir.js';
import type { Family } from '../../../util/ip/index.js';
import { NO_PORTS } from '../decisions/rule-ports.js';

/**
 * Actions for "these ports are allowed": accept all, drop, or go to the port chain of this port
 * set. One port chain per family and port set serves every frame shape (QinQ rules in it accept
 * without conntrack).
 */
export function decide(set: ChainSet, family: Family, ps: PortSet): CarrierActions {
  if (ps.all) return accept;
  if (portSetIsEmpty(ps)) return dropAll;
  const ref = set.namedChain(
    portChainRef(family, ps),
    () => `ports ${describePorts(ps)} (IPv${family})`,
    () => {
      const out: PendingFilter[] = [];
      for (const c of carriersOf(family)) {
        for (const p of ['TCP', 'UDP', 'SCTP'] as const) {
          for (const [a, b] of ps[p]) {
            const match: MatchDraft = { ipProto: PROTO_NAME[p] };
            if (!(a === 0 && b === 65535)) match.dstPort = [a, b];
            out.push(
              onCarrier(
                c,
                0,
                match,
                accept(c),
                `allow ${describePorts({ ...NO_PORTS, [p]: [[a, b]] } as PortSet)}`,
              ),
            );
          }
        }
      }
      out.push(filter(1, 'all', {}, DROP, 'no allowed port matched'));
      return out;
    },
  );
  return gotoChain(ref);
}

const dropAll: CarrierActions = () => DROP;

function gotoChain(ref: string): CarrierActions {
  const actions: PendingAction[] = [{ kind: 'gotoRef', ref }];
  return () => actions;
}

/** The name of the port chain of a port set (neither all nor no ports). */
export function portChainRef(family: Family, ps: PortSet): string {
  return `ports/ipv${family}/${portSetKey(ps)}`;
}

/** What `decide` gives, without a ChainSet: the port chain is named, not built. */
export function decisionFor(family: Family, ps: PortSet): CarrierActions {
  if (ps.all) return accept;
  if (portSetIsEmpty(ps)) return dropAll;
  return gotoChain(portChainRef(family, ps));
}
