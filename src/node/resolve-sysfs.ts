// From a pod interface's device-info (VF and PF PCI addresses, representor hint) to its VF
// representor and its PF's uplink representor, by reading sysfs as sriovnet does:
//   PF           /sys/bus/pci/devices/<vf>/physfn
//   VF index     the PF's virtfnN link that points at the VF
//   uplink       the netdev under /sys/bus/pci/devices/<pf>/net/ with a phys_switch_id and
//                phys_port_name p<N>
//   VF rep       the netdev of /sys/class/net with the uplink's phys_switch_id and phys_port_name
//                exactly pf<P>vf<index> (P = the PF's PCI function); this skips other hosts'
//                functions (c1pf0vf3) and sub-functions (pf0sf8).
// Every decision is made on what the SysFs interface returns, so tests drive it with fixture trees.

import { basename } from 'node:path';
import type { SysFs } from './sysfs.js';

export const PCI_DEVICES = '/sys/bus/pci/devices';
export const CLASS_NET = '/sys/class/net';

export interface SysfsQuery {
  /** device-info pci-address: the VF. */
  pciAddress?: string;
  /** device-info pf-pci-address: checked against the VF's physfn, used when there is no VF. */
  pfPciAddress?: string;
  /** device-info representor-device: a hint, used only when sysfs agrees. */
  hint?: string;
}

export interface SysfsResolution {
  /** The PF as sysfs gives it (or device-info's, when the VF cannot be read). */
  pf?: string;
  vfIndex?: number;
  switchId?: string;
  uplink?: string;
  representor?: string;
  /** Why there is no uplink (set exactly when `uplink` is not). */
  uplinkMissing?: string;
  /** Why there is no VF representor (set exactly when `representor` is not). */
  representorMissing?: string;
  /** Things that disagree with sysfs (stale hints); sysfs wins. */
  warnings: string[];
}

const UPLINK_PORT = /^p(\d+)$/;
const VIRTFN = /^virtfn(\d+)$/;

/** The PCI function of an address ("0000:03:00.1" -> 1): the P in pf<P>vf<N>. */
function pciFunction(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf('.') + 1));
}

function shortId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 16)}…` : id;
}

function findUplink(fs: SysFs, pf: string): { uplink: string; switchId: string } | { missing: string } {
  const dir = `${PCI_DEVICES}/${pf}/net`;
  const names = fs.list(dir);
  if (!names || names.length === 0) return { missing: `PF ${pf} has no netdev (${dir} is empty or missing)` };
  const found: { name: string; switchId: string }[] = [];
  let switchdev = false;
  for (const name of names) {
    const switchId = fs.read(`${dir}/${name}/phys_switch_id`);
    if (!switchId) continue;
    switchdev = true;
    const port = fs.read(`${dir}/${name}/phys_port_name`);
    if (port && UPLINK_PORT.test(port)) found.push({ name, switchId });
  }
  if (!switchdev)
    return {
      missing: `PF ${pf} is not in switchdev mode (no phys_switch_id on ${names.join(', ')}): a PF in legacy SR-IOV mode has no representors`,
    };
  if (found.length === 0)
    return { missing: `PF ${pf} has no netdev whose phys_port_name is p<N> (checked ${names.join(', ')})` };
  if (found.length > 1)
    return {
      missing: `PF ${pf} has several uplink candidates (${found.map((f) => f.name).join(', ')}); none is used`,
    };
  return { uplink: found[0]!.name, switchId: found[0]!.switchId };
}

function findVfIndex(fs: SysFs, pf: string, vf: string): number | undefined {
  const dir = `${PCI_DEVICES}/${pf}`;
  for (const entry of fs.list(dir) ?? []) {
    const m = VIRTFN.exec(entry);
    if (!m) continue;
    const target = fs.readlink(`${dir}/${entry}`);
    if (target !== undefined && basename(target) === vf) return Number(m[1]);
  }
  return undefined;
}

function findRepresentor(
  fs: SysFs,
  switchId: string,
  portName: string,
): { representor: string } | { missing: string } {
  const found: string[] = [];
  for (const name of fs.list(CLASS_NET) ?? []) {
    const dir = `${CLASS_NET}/${name}`;
    if (!fs.exists(dir)) continue; // a dangling entry: the netdev is going away
    if (fs.read(`${dir}/phys_switch_id`) !== switchId) continue;
    if (fs.read(`${dir}/phys_port_name`) === portName) found.push(name);
  }
  if (found.length === 1) return { representor: found[0]! };
  if (found.length === 0)
    return {
      missing: `no netdev with phys_switch_id ${shortId(switchId)} has phys_port_name ${portName}`,
    };
  return { missing: `several netdevs have phys_port_name ${portName} (${found.join(', ')}); none is used` };
}

export function resolveFromSysfs(fs: SysFs, q: SysfsQuery): SysfsResolution {
  const warnings: string[] = [];
  let pf: string | undefined;
  let vfProblem: string | undefined;
  const vf = q.pciAddress;
  if (!vf) {
    vfProblem = 'device-info has no pci-address, so the VF is unknown';
    pf = q.pfPciAddress;
  } else if (!fs.exists(`${PCI_DEVICES}/${vf}`)) {
    vfProblem = `VF ${vf} is not in sysfs (${PCI_DEVICES}/${vf} is missing)`;
    pf = q.pfPciAddress;
  } else {
    const link = fs.readlink(`${PCI_DEVICES}/${vf}/physfn`);
    if (link === undefined) {
      vfProblem = `${vf} has no physfn link: it is not a VF`;
      pf = q.pfPciAddress;
    } else {
      pf = basename(link);
      if (q.pfPciAddress && q.pfPciAddress !== pf)
        warnings.push(
          `device-info pf-pci-address ${q.pfPciAddress} disagrees with sysfs (physfn of ${vf} is ${pf}); using ${pf}`,
        );
    }
  }
  const out: SysfsResolution = { warnings };
  if (!pf) {
    out.uplinkMissing = 'the PF is unknown (device-info has no usable pci-address or pf-pci-address)';
    out.representorMissing = vfProblem ?? out.uplinkMissing;
    return out;
  }
  out.pf = pf;
  if (!fs.exists(`${PCI_DEVICES}/${pf}`)) {
    out.uplinkMissing = `PF ${pf} is not in sysfs (${PCI_DEVICES}/${pf} is missing or a dangling link)`;
    out.representorMissing = vfProblem ?? out.uplinkMissing;
    return out;
  }
  const up = findUplink(fs, pf);
  if ('missing' in up) out.uplinkMissing = up.missing;
  else {
    out.uplink = up.uplink;
    out.switchId = up.switchId;
  }
  if (vfProblem !== undefined || !vf) {
    out.representorMissing = vfProblem ?? 'the VF is unknown';
  } else {
    const index = findVfIndex(fs, pf, vf);
    if (index === undefined) {
      out.representorMissing = `no virtfnN link of PF ${pf} points at ${vf}`;
    } else {
      out.vfIndex = index;
      const port = `pf${pciFunction(pf)}vf${index}`;
      if ('missing' in up) out.representorMissing = `VF ${vf} (${port}) has no representor: ${up.missing}`;
      else {
        const rep = findRepresentor(fs, up.switchId, port);
        if ('missing' in rep) out.representorMissing = `VF ${vf} (${port}): ${rep.missing}`;
        else out.representor = rep.representor;
      }
    }
  }
  if (q.hint && out.representor && q.hint !== out.representor)
    warnings.push(
      `device-info representor-device ${q.hint} is stale or wrong: sysfs gives ${out.representor}; using ${out.representor}`,
    );
  if (q.hint && !out.representor)
    warnings.push(`device-info representor-device ${q.hint} cannot be checked against sysfs; it is not used`);
  return out;
}
