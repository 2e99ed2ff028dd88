// Compiles the pipeline of an uplink representor: new connections from outside the node to the
// pods behind it, through each isolated pod's source chain.

import { emitAddressMap } from '../chains/address-map.js';
import { ChainSet, CLASSIFY_CHAIN, NEW_CHAIN, type PendingFilter } from '../chains/chain-set.js';
import { buildStateChain, CLASSIFY_PURPOSE, classifyChainFilters } from '../chains/fixed-chains.js';
import { accept, acceptRest, DROP, FAMILIES } from '../chains/vocabulary.js';
import type { IngressPart } from '../decisions/ingress-part.js';
import { addressesOf } from '../decisions/interface-addresses.js';
import { pointAddress, sortPoints } from '../decisions/point-pieces.js';
import type { UplinkDeviceInput, UplinkParts, PreparedUplink } from './uplink-types.js';
import type { CompileOptions } from '../options.js';
import type { CompileCache } from '../reuse/compile-cache.js';
import { ingressPart } from '../reuse/ingress-parts.js';
import { sameIps } from '../reuse/same-inputs.js';
import type { ManagedInterface } from '../../../policy/types.js';
import type { Chain } from '../../ir.js';
import { FALLBACK_SLOT } from '../../layout.js';
import {
  type Contribution,
  type Family,
  type Interval,
  intervalToCidrs,
  normalizeIntervals,
  type Piece,
} from '../../../util/ip/index.js';

/**
 * What an uplink's chains are built from: each isolated pod's source chain per family, through
 * the cache when there is one (reuse/ingress-parts.ts).
 */
export function prepareUplink(input: UplinkDeviceInput, cache?: CompileCache): PreparedUplink {
  const sources = new Map<ManagedInterface, Partial<Record<Family, IngressPart>>>();
  const deps: unknown[] = [];
  for (const iface of input.interfaces) {
    deps.push(iface.key, iface.pod, iface.network, iface.ips.join(','), iface.ingress.isolated);
    if (!iface.ingress.isolated) continue;
    const parts: Partial<Record<Family, IngressPart>> = {};
    for (const family of FAMILIES) {
      if (addressesOf(input.memo, iface, family).length === 0) continue;
      parts[family] = ingressPart(iface, family, cache, input.memo);
      deps.push(parts[family]);
    }
    sources.set(iface, parts);
  }
  // Looked up on every compile, so the parts stay while the device exists, even when it is not rebuilt.
  return {
    input,
    sources,
    deps,
    parts: {
      previous: cache?.uplinkParts.get(input.device),
      save: cache && ((parts) => cache.uplinkParts.set(input.device, parts)),
    },
  };
}

/** Chain 2 of an uplink representor: new connections from outside the node to local pods. */
/** Returns the address maps it wrote, for the uplink's next build (see UplinkParts). */
function buildUplinkNew(
  set: ChainSet,
  prepared: PreparedUplink,
  previous: UplinkParts['maps'] | undefined,
): UplinkParts['maps'] {
  const maps: UplinkParts['maps'] = {};
  const input = prepared.input;
  const out = set.fixedChain(NEW_CHAIN, 'new connections from outside the node to pods behind this uplink');
  for (const family of FAMILIES) {
    // Group by address: an address shared by two networks cannot be told apart here, so new
    // connections to it are dropped (the closed choice) and compile-node warns.
    // (A list sorted by address, not a map keyed by BigInt addresses: hashing BigInts is slow.)
    const owned: Contribution<ManagedInterface>[] = [];
    for (const iface of input.interfaces) {
      for (const v of addressesOf(input.memo, iface, family))
        owned.push({ intervals: [[v, v]], value: iface });
    }
    const byAddress = sortPoints(owned);
    // Values: "accept" (not isolated, the fallback), "drop" (shared address) or a source chain.
    const pieces: Piece<string>[] = [];
    const notes = new Map<string, string>();
    for (let i = 0; i < byAddress.length;) {
      const v = pointAddress(byAddress[i]!);
      const atAddress: ManagedInterface[] = [];
      while (i < byAddress.length && pointAddress(byAddress[i]!) === v) atAddress.push(byAddress[i++]!.value);
      const iface = atAddress[0]!;
      if (atAddress.length > 1 && atAddress.some((x) => x.key !== iface.key)) {
        pieces.push({ interval: [v, v], value: 'drop' });
        notes.set('drop', 'address shared by pods of two networks: new connections to it are dropped');
      } else if (iface.ingress.isolated) {
        const part = prepared.sources.get(iface)![family]!;
        set.replay(part.fragment, []);
        const value = `chain:${part.ref}`;
        pieces.push({ interval: [v, v], value });
        const prev = notes.get(value);
        notes.set(value, prev ? `${prev}, ${iface.pod}` : `ingress rules of ${iface.pod}`);
      }
    }
    const map = emitAddressMap(
      out,
      family,
      'dstIp',
      {
        pieces,
        fallback: 'accept',
        key: (v) => v,
        act: (v) => {
          if (v === 'accept') return { actions: accept, note: 'destination ingress is not isolated' };
          if (v === 'drop') return { actions: () => DROP, note: notes.get(v)! };
          return {
            actions: () => [{ kind: 'gotoRef', ref: v.slice('chain:'.length) }],
            note: notes.get(v)!,
          };
        },
      },
      previous?.[family],
    );
    maps[family] = map;
  }
  acceptRest(out, FALLBACK_SLOT, 'destination ingress is not isolated');
  return maps;
}

/** The chains of an uplink: classify, state, and chain 2 by destination address. */
export function buildUplink(prepared: PreparedUplink, opts: CompileOptions): Chain[] {
  const set = new ChainSet(prepared.input.memo.resolvedFilters);
  // The classify chain depends only on the addresses behind the uplink: kept while they stay.
  const ips = prepared.input.interfaces.map((iface) => iface.ips);
  const last = prepared.parts.previous;
  const kept = last?.classify;
  const same =
    kept !== undefined &&
    kept.opts === opts &&
    kept.ips.length === ips.length &&
    kept.ips.every((x, i) => sameIps(x, ips[i]!));
  const classify = same
    ? kept.fragment
    : { filters: uplinkClassifyFilters(prepared, opts), chains: new Map() };
  set.replay(classify, set.fixedChain(CLASSIFY_CHAIN, CLASSIFY_PURPOSE));
  buildStateChain(set);
  const maps = buildUplinkNew(set, prepared, last?.maps);
  prepared.parts.save?.({ classify: { ips, opts, fragment: classify }, maps });
  return set.finish();
}

function uplinkClassifyFilters(prepared: PreparedUplink, opts: CompileOptions): PendingFilter[] {
  return classifyChainFilters(opts, (c) => {
    const values: Interval[] = [];
    for (const iface of prepared.input.interfaces) {
      for (const v of addressesOf(prepared.input.memo, iface, c.family)) values.push([v, v]);
    }
    const cidrs = normalizeIntervals(values).flatMap((iv) => intervalToCidrs(iv, c.family));
    return cidrs.map((cidr) => ({
      match: { dstIp: cidr },
      note: 'IP to a managed pod on this node goes through conntrack',
    }));
  });
}
