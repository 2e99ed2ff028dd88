// `show`: every managed pod interface with its isolation and allowed peers, as the reference
// semantics see them (the first form of the main job; `render` shows the TC side).

import type { DirectionPolicy, ManagedInterface, PolicyModel, ResolvedRule } from '../policy/types.js';
import { formatPortSet, resolvePorts } from '../policy/ports.js';
import { unenforcedEffect, type UnenforcedInterface } from '../node/device-map.js';

function peerText(model: PolicyModel, network: string, r: ResolvedRule): string {
  if (r.peers.kind === 'any') return 'any address';
  if (r.peers.blocks.length === 0) return 'nothing (no peer matches)';
  const byIp = model.byIp.get(network);
  return r.peers.blocks
    .map((b) => {
      const host = b.cidr.replace(/\/(32|128)$/, '');
      const owner = b.except.length === 0 ? byIp?.get(host) : undefined;
      const ex = b.except.length > 0 ? ` except ${b.except.join(', ')}` : '';
      return owner ? `${host} (${owner.pod})` : `${b.cidr}${ex}`;
    })
    .join(', ');
}

function direction(
  model: PolicyModel,
  i: ManagedInterface,
  name: 'ingress' | 'egress',
  d: DirectionPolicy,
  lost: UnenforcedInterface | undefined,
): string[] {
  // What the node cannot filter is said first: the rules below are then only what policy asks.
  const notEnforced = lost ? [`    NOT ENFORCED: ${lost.reason}; ${unenforcedEffect(lost.direction)}`] : [];
  if (!d.isolated) return [`  ${name}: not isolated (all allowed)`, ...notEnforced];
  const out = [`  ${name}: isolated by ${d.policies.join(', ')}`, ...notEnforced];
  if (d.rules.length === 0) out.push('    allows nothing');
  for (const r of d.rules) {
    const dir = name === 'ingress' ? 'from' : 'to';
    // Named ports resolve on the destination: this pod for ingress; shown unresolved for egress.
    const ports =
      name === 'ingress' || r.ports.kind === 'all' || !r.ports.entries.some((e) => e.kind === 'named')
        ? formatPortSet(resolvePorts(r.ports, name === 'ingress' ? i.podInfo : undefined))
        : r.ports.entries
            .map((e) => (e.kind === 'named' ? `${e.protocol}/${e.name}` : JSON.stringify(e)))
            .join(', ');
    out.push(
      `    allow ${dir} ${peerText(model, i.network, r)}; ports ${ports} [${r.origin.policy} ${r.origin.direction}[${r.origin.index}]]`,
    );
  }
  return out;
}

/** `unenforced`: the directions no device filters (see buildDeviceMap), marked NOT ENFORCED. */
export function renderShow(model: PolicyModel, unenforced: readonly UnenforcedInterface[] = []): string {
  const lost = (i: ManagedInterface, dir: 'ingress' | 'egress') =>
    unenforced.find((u) => u.key === i.key && u.direction === dir);
  const out: string[] = [];
  out.push(`${model.interfaces.length} managed pod interface(s), ${model.policies.length} policy(ies)`);
  for (const i of model.interfaces) {
    out.push('');
    out.push(
      `${i.pod} ${i.interface} on ${i.network} (node ${i.nodeName || '-'}; ${i.ips.join(', ') || 'no IP'}; representor ${i.representor ?? 'unknown'})`,
    );
    out.push(...direction(model, i, 'ingress', i.ingress, lost(i, 'ingress')));
    out.push(...direction(model, i, 'egress', i.egress, lost(i, 'egress')));
  }
  return out.join('\n') + '\n';
}
