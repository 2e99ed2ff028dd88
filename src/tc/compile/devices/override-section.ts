// The first part of chain 2 of a VF: exact decisions for the pods of its own node.

import type { PendingFilter } from '../chains/chain-set.js';
import { carriersOf } from '../chains/encapsulation.js';
import { decisionFor, portChainRef } from '../chains/port-chains.js';
import { FAMILY_BITS } from '../chains/prefix-rules.js';
import { describeAllowed, FAMILIES, onCarrier } from '../chains/vocabulary.js';
import { overridePieces } from '../decisions/overrides.js';
import { BLOCK_SHIFT, SUB_BLOCK_SHIFT, unitOf } from './address-blocks.js';
import type { OverrideFilters, OverrideSection, VfParts, PreparedVf } from './vf-types.js';
import { portSetIsEmpty, portSetKey } from '../../../policy/ports.js';
import type { PortSet } from '../../../policy/types.js';
import { OVERRIDE_SLOT } from '../../layout.js';
import { type Family, intervalToCidrs } from '../../../util/ip/index.js';

/**
 * The first part of chain 2 of a VF representor (new connections sent by the VF's pod): pods of
 * this node whose ingress is isolated, where that changes the decision. Both the egress of the
 * source and the ingress of the destination apply, and both are known at compile time because the
 * source is this VF. These exact overrides come before every prefix (OVERRIDE_SLOT); what they do
 * not cover falls through to the egress rules (see vfTail). `last` is what the VF's previous
 * build kept (for the same pod and options): the filters of its pieces that stay are reused.
 */
export function overrideSection(prepared: PreparedVf, last: VfParts | undefined): OverrideSection {
  const src = prepared.input.iface;
  const overrideFilters: OverrideFilters = { 4: [], 6: [] };
  const portChains = new Map<string, { family: Family; ports: PortSet }>();
  // Per carrier, the filters of each family (IPv4, IPv6).
  const byCarrier: [PendingFilter[], PendingFilter[]][] = [];
  for (const family of FAMILIES) {
    // The last build's pieces are in address order too: walk them alongside (BigInt map keys
    // would be hashed on every lookup).
    const before = last?.overrideFilters[family] ?? [];
    let b = 0;
    const portSets = new Map<string, PortSet>();
    for (const p of overridePieces(prepared.overrides, family)) {
      const [lo, hi] = p.interval;
      const ports = portSetKey(p.value);
      while (b < before.length && before[b]!.lo < lo) b++;
      let entry: OverrideFilters[Family][number] | undefined;
      for (let k = b; k < before.length && before[k]!.lo === lo; k++) {
        if (before[k]!.hi === hi && before[k]!.ports === ports) entry = before[k];
      }
      if (!entry) {
        const actions = decisionFor(family, p.value);
        const note = `new connection from ${src.pod} to a pod of this node: ${describeAllowed(p.value)} (its egress and the destination's ingress)`;
        const cidrs = intervalToCidrs(p.interval, family);
        const filters = carriersOf(family).map((c) =>
          cidrs.map((cidr) => onCarrier(c, OVERRIDE_SLOT, { dstIp: cidr }, actions(c), note)),
        );
        // A piece inside one sub-block (the usual case: one pod address) needs no CIDR parsed.
        let blocks: (bigint | undefined)[];
        let subs: (bigint | undefined)[];
        const sub = lo >> SUB_BLOCK_SHIFT;
        if (sub === hi >> SUB_BLOCK_SHIFT) {
          const blockBase = (lo >> BLOCK_SHIFT) << BLOCK_SHIFT;
          const subBase = sub << SUB_BLOCK_SHIFT;
          blocks = cidrs.map(() => blockBase);
          subs = cidrs.map(() => subBase);
        } else {
          // The CIDRs cover the piece in order: each starts where the last ended.
          blocks = [];
          subs = [];
          let at = lo;
          for (const cidr of cidrs) {
            const end =
              at + (1n << BigInt(FAMILY_BITS[family] - Number(cidr.slice(cidr.lastIndexOf('/') + 1)))) - 1n;
            blocks.push(unitOf(at, end, BLOCK_SHIFT));
            subs.push(unitOf(at, end, SUB_BLOCK_SHIFT));
            at = end + 1n;
          }
        }
        entry = { lo, hi, ports, filters, blocks, subs };
      }
      if (!portSets.has(ports)) portSets.set(ports, p.value);
      overrideFilters[family].push(entry);
      const fi = family === 4 ? 0 : 1;
      entry.filters.forEach((list, ci) => {
        const into = (byCarrier[ci] ??= [[], []])[fi];
        for (const f of list) into.push(f);
      });
    }
    for (const ps of portSets.values()) {
      if (!ps.all && !portSetIsEmpty(ps)) portChains.set(portChainRef(family, ps), { family, ports: ps });
    }
  }
  const filters: PendingFilter[] = [];
  for (const families of byCarrier) for (const list of families) for (const f of list) filters.push(f);
  return { overrideFilters, filters, portChains };
}
