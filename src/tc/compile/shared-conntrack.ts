// One conntrack zone (--ct-zone) serves every network of the node, and a connection's key holds
// no network: where two networks with pods on this node reuse addresses, a connection allowed and
// answered on one makes the same addresses and ports "established" on the other, past its policy
// (docs/tc-rule-pipeline.md, section 9). Not fixed yet: said once per pair of networks, so that
// an operator who reuses an address range across networks learns it.

import type { ManagedInterface } from '../../policy/types.js';

/** One warning per pair of networks with pods on `nodeName` that use a same address anywhere. */
export function sharedConntrackWarnings(
  byNetwork: ReadonlyMap<string, readonly ManagedInterface[]>,
  nodeName: string,
  zone: number,
): string[] {
  const nets = [...byNetwork.keys()]
    .filter((net) => byNetwork.get(net)!.some((i) => i.nodeName === nodeName))
    .sort();
  if (nets.length < 2) return [];
  const firstNetwork = new Map<string, string>();
  const example = new Map<string, string>();
  for (const net of nets) {
    for (const iface of byNetwork.get(net)!) {
      for (const ip of iface.ips) {
        const first = firstNetwork.get(ip);
        if (first === undefined) firstNetwork.set(ip, net);
        else if (first !== net && !example.has(`${first} and ${net}`)) example.set(`${first} and ${net}`, ip);
      }
    }
  }
  return [...example].map(
    ([pair, ip]) =>
      `networks ${pair} both use ${ip} (and maybe more addresses): they share conntrack zone ${zone} on this node, so a connection allowed and answered on one lets the same addresses and ports through on the other`,
  );
}
