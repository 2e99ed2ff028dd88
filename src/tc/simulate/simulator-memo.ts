// What the simulator keeps from one packet for the next, owned by whoever runs the packets (a
// ClusterSimulator per `explain`, a test): parsed address keys per filter, chains by index per
// device, and each chain's filters in the kernel's order. All are keyed by IR objects, which are
// never modified once compiled (ir.ts), in WeakMaps: an entry lives no longer than the filter or
// device it describes, so the owner keeps nothing alive that its devices do not (explain --matrix
// holds devices within HELD_FILTERS and drops the rest).

import type { Chain, DevicePipeline, Filter } from '../ir.js';
import { parseCidrInterval } from '../../util/ip/index.js';
import { kernelOrder } from './flower-kernel-rules.js';

/** A src_ip/dst_ip key as an interval; `never` for one no address matches (a /0, or no prefix). */
export type ParsedPrefix = { family: 4 | 6; lo: bigint; hi: bigint } | 'never';

export interface ParsedAddressKeys {
  src?: ParsedPrefix;
  dst?: ParsedPrefix;
}

function parsePrefix(cidr: string): ParsedPrefix {
  if (cidr.endsWith('/0')) return 'never'; // as the from-scratch matcher: the kernel matched nothing with a /0
  const c = parseCidrInterval(cidr);
  return c ? { family: c.family, lo: c.interval[0], hi: c.interval[1] } : 'never';
}

export class SimulatorMemo {
  private readonly addressKeys = new WeakMap<Filter, ParsedAddressKeys>();
  private readonly chains = new WeakMap<DevicePipeline, Map<number, Chain>>();
  private readonly ordered = new WeakMap<readonly Filter[], Filter[]>();

  /** The filter's src_ip and dst_ip keys, parsed once per filter object. */
  addressKeysOf(f: Filter): ParsedAddressKeys {
    let k = this.addressKeys.get(f);
    if (!k) {
      k = {};
      // Truthiness, as in matchesFromScratch: an empty key is no key.
      if (f.match.srcIp) k.src = parsePrefix(f.match.srcIp);
      if (f.match.dstIp) k.dst = parsePrefix(f.match.dstIp);
      this.addressKeys.set(f, k);
    }
    return k;
  }

  /** A device's chains by index (per device object: a matrix runs thousands of packets on one). */
  chainsByIndex(d: DevicePipeline): Map<number, Chain> {
    let m = this.chains.get(d);
    if (!m) {
      m = new Map(d.chains.map((c) => [c.index, c]));
      this.chains.set(d, m);
    }
    return m;
  }

  /** kernelOrder of a chain's filters, once per filter array (it throws where tc would refuse). */
  kernelOrder(chain: number, filters: readonly Filter[]): Filter[] {
    let out = this.ordered.get(filters);
    if (!out) {
      out = kernelOrder(chain, filters);
      this.ordered.set(filters, out);
    }
    return out;
  }
}
