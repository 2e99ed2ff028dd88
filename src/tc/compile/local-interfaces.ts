// The managed interfaces of one node and each one's local peers: the interfaces whose ingress a
// VF checks for traffic from its pod. They span every managed network of the node, because two
// networks can share one L2 segment (same bridge and VLAN): a same-node sender of another network
// reaches a pod without passing the uplink, so its representor must check the pod's ingress as
// the uplink does for a sender on another node.
//
// Kept per network (LocalNetwork, patched from the last compile when pods changed under the same
// keys) and then joined into the node's list (NodeLocals), patched the same way while every
// network's list was kept or patched.

import { sharingAddresses } from './decisions/interface-addresses.js';
import type { PeersSince } from './devices/vf-types.js';
import type { CompileMemo } from './reuse/compile-memo.js';
import type { ManagedInterface } from '../../policy/types.js';

/** Local interfaces and each one's peers (the others, in order). */
export interface NodeLocals {
  local: ManagedInterface[];
  sharing: ReadonlySet<ManagedInterface>;
  peers: Map<string, ManagedInterface[]>;
  /** Peers that were patched from the last compile's (see VfDeviceInput.peersSince). */
  since: Map<string, PeersSince>;
}

/** The interfaces of one network on this node, and each one's peers among them. */
export interface LocalNetwork extends NodeLocals {
  /** The model's list of the network's interfaces this was taken from. */
  all: readonly ManagedInterface[];
  /** Per position in `all`, the position in `local` (-1: on another node). */
  localAt: Int32Array;
  /** Positions in `local` replaced since the last compile's; undefined when built afresh. */
  replaced: readonly number[] | undefined;
}

/** The node's interfaces of every network, joined from `parts` (the networks in name order). */
export interface JoinedLocals extends NodeLocals {
  parts: readonly LocalNetwork[];
}

/**
 * The network's interfaces on this node. When the network's list differs from the last one only
 * by interfaces replaced under the same keys on the same nodes (a pod changed), the last local
 * list and peers are copied with those replaced, instead of filtering the list again (and each
 * interface's peers again).
 */
export function localNetwork(
  memo: CompileMemo,
  all: readonly ManagedInterface[],
  nodeName: string,
  prev: LocalNetwork | undefined,
): LocalNetwork {
  if (prev?.all === all) return prev;
  const patched = prev && replacedLocals(all, nodeName, prev);
  if (!patched) {
    const localAt = new Int32Array(all.length).fill(-1);
    const local: ManagedInterface[] = [];
    all.forEach((iface, i) => {
      if (iface.nodeName === nodeName) localAt[i] = local.push(iface) - 1;
    });
    const { sharing, peers, since } = freshLocals(memo, local);
    return { all, local, localAt, sharing, peers, since, replaced: undefined };
  }
  // Written field by field, as below: one object shape for every LocalNetwork.
  if (patched.length === 0) {
    const { local, localAt, sharing, peers } = prev;
    return { all, local, localAt, sharing, peers, since: new Map(), replaced: [] };
  }
  const local = prev.local.slice();
  for (const { at, iface } of patched) local[at] = iface;
  const replaced = patched.map((p) => p.at);
  const { sharing, peers, since } = patchedLocals(memo, prev, local, replaced);
  return { all, local, localAt: prev.localAt, sharing, peers, since, replaced };
}

/**
 * The node's interfaces of every network. `parts[i]` was made from `bases[i]` (the last compile's
 * list of the same network, if any). With one network on the node its own list is used as it is;
 * with several, the last joined list is patched while every network's list was kept or patched
 * from the one it was joined from, else joined again.
 */
export function joinLocals(
  memo: CompileMemo,
  parts: readonly LocalNetwork[],
  bases: readonly (LocalNetwork | undefined)[],
  prev: JoinedLocals | undefined,
): JoinedLocals {
  const used = parts.filter((p) => p.local.length > 0);
  if (used.length <= 1) {
    const one = used[0] ?? { local: [], sharing: new Set(), peers: new Map(), since: new Map() };
    const { local, sharing, peers, since } = one;
    return { parts, local, sharing, peers, since };
  }
  const same =
    prev !== undefined &&
    prev.parts.length === parts.length &&
    parts.every((p, i) => p === prev.parts[i] || (p.replaced !== undefined && bases[i] === prev.parts[i]));
  if (same && parts.every((p, i) => p === prev.parts[i])) return prev;
  if (same) {
    const local = prev.local.slice();
    const replaced: number[] = [];
    let offset = 0;
    parts.forEach((p, i) => {
      if (p !== prev.parts[i]) {
        for (const at of p.replaced!) {
          local[offset + at] = p.local[at]!;
          replaced.push(offset + at);
        }
      }
      offset += p.local.length;
    });
    if (replaced.length === 0) {
      const { sharing, peers } = prev;
      return { parts, local: prev.local, sharing, peers, since: new Map() };
    }
    return { parts, ...patchedLocals(memo, prev, local, replaced) };
  }
  const local = used.flatMap((p) => p.local);
  return { parts, ...freshLocals(memo, local) };
}

function freshLocals(memo: CompileMemo, local: ManagedInterface[]): NodeLocals {
  const peers = new Map(local.map((iface) => [iface.key, local.filter((p) => p.key !== iface.key)]));
  return { local, sharing: sharingAddresses(memo, local), peers, since: new Map() };
}

/** `prev`'s peers with the interfaces at the positions `replaced` of `local` put in. */
function patchedLocals(
  memo: CompileMemo,
  prev: NodeLocals,
  local: ManagedInterface[],
  replaced: readonly number[],
): NodeLocals {
  const peers = new Map<string, ManagedInterface[]>();
  const since = new Map<string, PeersSince>();
  local.forEach((iface, self) => {
    // The peers skip the interface itself: positions after it move down by one.
    const last = prev.peers.get(iface.key)!;
    const list = last.slice();
    const changed: number[] = [];
    for (const at of replaced) {
      if (at === self) continue;
      const i = at < self ? at : at - 1;
      list[i] = local[at]!;
      changed.push(i);
    }
    peers.set(iface.key, list);
    since.set(iface.key, { peers: last, changed });
  });
  return { local, sharing: sharingAddresses(memo, local), peers, since };
}

/**
 * The local interfaces that replaced others (at their position in the last local list), when
 * `all` differs from the last list only by interfaces replaced under the same keys, on the same
 * nodes; else undefined.
 */
function replacedLocals(
  all: readonly ManagedInterface[],
  nodeName: string,
  prev: LocalNetwork,
): { at: number; iface: ManagedInterface }[] | undefined {
  if (all.length !== prev.all.length) return undefined;
  const out: { at: number; iface: ManagedInterface }[] = [];
  for (let i = 0; i < all.length; i++) {
    const iface = all[i]!;
    const p = prev.all[i]!;
    if (iface === p) continue;
    const at = prev.localAt[i]!;
    if (iface.key !== p.key || (iface.nodeName === nodeName) !== at >= 0) return undefined;
    if (at >= 0) out.push({ at, iface });
  }
  return out;
}
