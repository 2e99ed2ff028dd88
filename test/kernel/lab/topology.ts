// Builds the lab network for a cluster: one network namespace per node (a Linux bridge as the
// eswitch, one veth end per pod interface as its VF representor, one veth end as the uplink),
// one namespace per pod (the other veth ends, with the addresses and MACs of network-status, and
// routes that reach every other pod of the network whatever the layout: address-plan.ts), and a
// "wire" namespace whose bridge joins the nodes' uplinks.

import type { PolicyModel } from '../../../src/policy/types.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { uplinkFor } from '../../../src/node/device-map.js';
import { addressPlan } from './address-plan.js';
import { sh } from './shell.js';

export interface Topology {
  /** node name -> its namespace */
  nodeNs: Map<string, string>;
  /** "ns/pod" -> its namespace */
  podNs: Map<string, string>;
  teardown(): Promise<void>;
}

export const WIRE_NS = 'wire';

export interface TopologyOptions {
  /**
   * Carry the pod traffic tagged: each interface gets a VLAN device "v<id>" (on top of an 802.1ad
   * device when `qinqOuter` is set) holding the network-status addresses instead of the interface.
   */
  vlan?: { id: number; qinqOuter?: number };
}

export async function buildTopology(
  snapshot: ClusterSnapshot,
  model: PolicyModel,
  opts: TopologyOptions = {},
): Promise<Topology> {
  const plans = addressPlan(snapshot, model);
  const nodes = [...new Set(model.interfaces.map((i) => i.nodeName))].sort();
  const pods = [...new Set(model.interfaces.map((i) => i.pod))].sort();
  const nodeNs = new Map(nodes.map((n, i) => [n, `node${i}`]));
  const podNs = new Map(pods.map((p, i) => [p, `pod${i}`]));
  const lines: string[] = ['set -e', `ip netns add ${WIRE_NS}`, `ip -n ${WIRE_NS} link add wire type bridge`];
  lines.push(`ip -n ${WIRE_NS} link set wire up`);
  for (const ns of [...nodeNs.values(), ...podNs.values()]) {
    lines.push(`ip netns add ${ns}`, `ip -n ${ns} link set lo up`);
    lines.push(
      `ip netns exec ${ns} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0`,
    );
  }
  const uplinks = new Set<string>();
  for (const n of nodes) {
    const ns = nodeNs.get(n)!;
    lines.push(`ip -n ${ns} link add br0 type bridge`, `ip -n ${ns} link set br0 up`);
  }
  for (const i of model.interfaces) {
    const ns = nodeNs.get(i.nodeName)!;
    const pns = podNs.get(i.pod)!;
    const up = uplinkFor(snapshot.nodes.get(i.nodeName), i);
    if (up && !uplinks.has(`${ns}/${up}`)) {
      uplinks.add(`${ns}/${up}`);
      const peer = `w-${ns}-${uplinks.size}`;
      lines.push(`ip -n ${ns} link add ${up} type veth peer name ${peer} netns ${WIRE_NS}`);
      lines.push(
        `ip -n ${ns} link set ${up} master br0 up`,
        `ip -n ${WIRE_NS} link set ${peer} master wire up`,
      );
    }
    if (!i.representor) continue;
    lines.push(`ip -n ${ns} link add ${i.representor} type veth peer name ${i.interface} netns ${pns}`);
    lines.push(`ip -n ${ns} link set ${i.representor} master br0 up`);
    if (i.mac) lines.push(`ip -n ${pns} link set ${i.interface} address ${i.mac}`);
    lines.push(`ip -n ${pns} link set ${i.interface} up`);
    const plan = plans.get(i.key)!;
    // One `ip -batch` per interface: a process start costs 25-50 ms under TCG, and a pod may
    // need a route to every other pod.
    const configure = (dev: string) => {
      const batch = [
        ...plan.addresses.map((a) => `addr add ${a} dev ${dev} nodad`),
        ...plan.routes.map((r) => `route add ${r} dev ${dev}`),
      ];
      lines.push(`ip -n ${pns} -batch - <<'EOF'\n${batch.join('\n')}\nEOF`);
    };
    if (!opts.vlan) {
      configure(i.interface);
    } else {
      let base = i.interface;
      if (opts.vlan.qinqOuter !== undefined) {
        const outer = `${i.interface}.s${opts.vlan.qinqOuter}`;
        lines.push(
          `ip -n ${pns} link add link ${base} name ${outer} type vlan proto 802.1ad id ${opts.vlan.qinqOuter}`,
        );
        lines.push(`ip -n ${pns} link set ${outer} up`);
        base = outer;
      }
      const dev = `v${opts.vlan.id}`;
      lines.push(`ip -n ${pns} link add link ${base} name ${dev} type vlan id ${opts.vlan.id}`);
      lines.push(`ip -n ${pns} link set ${dev} up`);
      configure(dev);
    }
  }
  await sh(lines.join('\n'));
  return {
    nodeNs,
    podNs,
    async teardown() {
      await sh(
        [...podNs.values(), ...nodeNs.values(), WIRE_NS]
          .map(
            (ns) =>
              `ip netns pids ${ns} 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del ${ns} 2>/dev/null`,
          )
          .join('\n') + '\ntrue',
        { allowFail: true },
      );
    },
  };
}
