// IR -> JSON for `render --format json`: one element per kernel filter, with the tc line it is.

import { formatUnenforced } from '../../node/device-map.js';
import type { NodePipeline } from '../ir.js';
import { absoluteChain } from '../layout.js';
import { kernelFilterCount, renderEntry, renderFilter } from './render-tc.js';

export function renderNodeJson(p: NodePipeline, ctZone: number): unknown {
  return {
    node: p.node,
    warnings: p.warnings,
    // Local pod interfaces that no device filters in some direction: the text output's
    // "NOT ENFORCED" comments, as objects.
    unenforced: (p.unenforced ?? []).map((u) => ({ ...u, text: formatUnenforced(u) })),
    devices: p.devices.map((d) => {
      const filters: unknown[] = [];
      for (const c of d.chains) {
        for (const f of c.filters) {
          filters.push({
            chain: absoluteChain(0, c.index),
            chainPurpose: c.purpose,
            prio: f.prio,
            protocol: f.protocol,
            match: f.match,
            actions: f.actions.map((a) =>
              a.kind === 'goto' ? { kind: 'goto', chain: absoluteChain(0, a.chain) } : a,
            ),
            note: f.note,
            tc: renderFilter(d.device, absoluteChain(0, c.index), f, 0, ctZone),
          });
        }
      }
      if (d.chains.length > 0) {
        filters.push({
          chain: 0,
          chainPurpose: 'entry',
          prio: 1,
          protocol: 'all',
          match: {},
          actions: [{ kind: 'goto', chain: absoluteChain(0, 0) }],
          note: 'entry: every packet goes to the root chain',
          tc: renderEntry(d.device, 0, 'add'),
        });
      }
      return {
        name: d.device,
        kind: d.kind,
        networks: d.networks,
        interfaces: d.interfaces,
        filterCount: kernelFilterCount(d),
        filters,
      };
    }),
  };
}
