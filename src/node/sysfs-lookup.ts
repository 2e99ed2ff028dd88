// Representors and uplinks of this node's pod interfaces from sysfs, on every reconcile that
// needs them. Results are cached, and the cache is dropped whenever the node's netdevs change:
// each call lists /sys/class/net with every netdev's ifindex (a rename, a driver reload or a
// switchdev mode change all change that list), and `invalidate()` lets a link monitor drop it
// early. Only complete results are cached: an interface still missing a device is read again
// on the next call, so its filters go in as soon as the devices appear.

import type { NodeInfo } from '../cluster/snapshot.js';
import type { ManagedInterface } from '../policy/types.js';
import { uplinkFor, type DeviceLookup } from './device-map.js';
import { CLASS_NET, resolveFromSysfs, type SysfsResolution } from './resolve-sysfs.js';
import type { SysFs } from './sysfs.js';

export interface NodeResolution {
  /** Per ManagedInterface key. */
  byKey: Map<string, SysfsResolution>;
  /** Disagreements with sysfs (stale representor hints, uplink annotation), once per interface. */
  warnings: string[];
}

export class SysfsDiscovery {
  private cache = new Map<string, SysfsResolution>();
  private stamp: string | undefined;
  /** How many interfaces were read from sysfs (not the cache) so far; for tests and logs. */
  reads = 0;

  constructor(private readonly fs: SysFs) {}

  /** Forget every cached result (a netlink link event). */
  invalidate(): void {
    this.cache.clear();
    this.stamp = undefined;
  }

  /** The node's netdevs as name:ifindex; any change drops the cache. */
  private linkStamp(): string {
    const names = this.fs.list(CLASS_NET) ?? [];
    return names.map((n) => `${n}:${this.fs.read(`${CLASS_NET}/${n}/ifindex`) ?? '-'}`).join(' ');
  }

  resolve(ifaces: readonly ManagedInterface[], node: NodeInfo | undefined): NodeResolution {
    const stamp = this.linkStamp();
    if (stamp !== this.stamp) {
      this.cache.clear();
      this.stamp = stamp;
    }
    const byKey = new Map<string, SysfsResolution>();
    const warnings: string[] = [];
    for (const iface of ifaces) {
      const query = {
        ...(iface.pciAddress ? { pciAddress: iface.pciAddress } : {}),
        ...(iface.pfPciAddress ? { pfPciAddress: iface.pfPciAddress } : {}),
        ...(iface.representor ? { hint: iface.representor } : {}),
      };
      const cacheKey = `${query.pciAddress ?? ''}|${query.pfPciAddress ?? ''}|${query.hint ?? ''}`;
      let r = this.cache.get(cacheKey);
      if (!r) {
        r = resolveFromSysfs(this.fs, query);
        this.reads++;
        if (r.representor && r.uplink) this.cache.set(cacheKey, r);
      }
      byKey.set(iface.key, r);
      const who = `${iface.pod} ${iface.interface} on ${iface.network}`;
      for (const w of r.warnings) warnings.push(`${who}: ${w}`);
      // The Node's uplink annotation is optional here; when present it must agree with sysfs.
      const annotated = uplinkFor(node, { ...iface, ...(r.pf ? { pfPciAddress: r.pf } : {}) });
      if (annotated && r.uplink && annotated !== r.uplink)
        warnings.push(
          `${who}: the Node's uplink annotation names ${annotated} for PF ${r.pf}, sysfs gives ${r.uplink}; using ${r.uplink}`,
        );
    }
    return { byKey, warnings: [...new Set(warnings)] };
  }
}

/** Places interfaces from a NodeResolution; an interface it does not know has no devices. */
export function sysfsLookup(res: NodeResolution): DeviceLookup {
  const get = (i: ManagedInterface) => res.byKey.get(i.key);
  return {
    representor(i) {
      const r = get(i);
      if (r?.representor) return { device: r.representor };
      return { missing: `no VF representor in sysfs: ${r?.representorMissing ?? 'not looked up'}` };
    },
    uplink(i) {
      const r = get(i);
      if (r?.uplink) return { device: r.uplink };
      return { missing: `no uplink representor in sysfs: ${r?.uplinkMissing ?? 'not looked up'}` };
    },
  };
}
