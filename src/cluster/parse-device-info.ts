// Reads the device-info object of one network-status entry (device-info-spec v1.1). Only PCI
// devices carry what the agent needs: the VF address, its PF and (from accelerated-bridge) the
// representor netdev. Unreadable fields are dropped; the node resolver then finds them in sysfs.

import { childPath } from './field-path.js';
import { canonicalPciAddress, isNetdevName } from './name-checks.js';
import type { Parsed } from './parsed.js';
import type { Problem } from './problem.js';

export interface PciDeviceInfo {
  pciAddress?: string;
  pfPciAddress?: string;
  representor?: string;
}

const DROPPED = 'the field is ignored; the device is looked up in sysfs instead';

export function parseDeviceInfo(raw: unknown, path: string, object: string): Parsed<PciDeviceInfo> {
  const value: PciDeviceInfo = {};
  const problems: Problem[] = [];
  const warn = (p: string, message: string): void => {
    problems.push({ severity: 'warning', object, path: p, message, effect: DROPPED });
  };
  if (raw === undefined) return { value, problems };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    warn(path, 'must be an object');
    return { value, problems };
  }
  const info = raw as Record<string, unknown>;
  if (info.type !== 'pci') return { value, problems };
  const pci = info.pci;
  const pciPath = childPath(path, 'pci');
  if (typeof pci !== 'object' || pci === null || Array.isArray(pci)) {
    warn(pciPath, 'must be an object');
    return { value, problems };
  }
  const fields = pci as Record<string, unknown>;
  const pciField = (key: string): string | undefined => {
    const v = fields[key];
    if (v === undefined || v === '') return undefined;
    const addr = typeof v === 'string' ? canonicalPciAddress(v) : undefined;
    if (!addr) warn(childPath(pciPath, key), `${JSON.stringify(v)} is not a PCI address`);
    return addr;
  };
  const pciAddress = pciField('pci-address');
  const pfPciAddress = pciField('pf-pci-address');
  if (pciAddress) value.pciAddress = pciAddress;
  if (pfPciAddress) value.pfPciAddress = pfPciAddress;
  const rep = fields['representor-device'];
  if (typeof rep === 'string' && isNetdevName(rep)) value.representor = rep;
  else if (rep !== undefined && rep !== '') {
    warn(childPath(pciPath, 'representor-device'), `${JSON.stringify(rep)} is not an interface name`);
  }
  return { value, problems };
}
