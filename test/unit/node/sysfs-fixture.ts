// Builds, in a temporary directory, a sysfs tree laid out like a ConnectX-6 Dx with two PFs:
// PF0 (0000:03:00.0) in switchdev mode with udev-renamed representors, PF1 (0000:03:00.1) in
// legacy mode (no representors), VFs whose virtfnN index is not their function order, and broken
// links. Built at test time so that no symlink lives in git.

import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PF0 = '0000:03:00.0';
export const PF1 = '0000:03:00.1';
export const SWITCH_ID = 'b8cef60300a1b2c3';
/** PF0's VFs: virtfn index -> VF address (not in address order). */
export const PF0_VFS: Record<number, string> = {
  0: '0000:03:00.5',
  1: '0000:03:00.2',
  2: '0000:03:00.4',
  3: '0000:03:00.3',
  4: '0000:03:01.2', // has no representor
};
/** virtfn5 of PF0 points at a device that is not there. */
export const PF0_DANGLING_VF = '0000:03:01.7';
export const PF1_VFS: Record<number, string> = { 0: '0000:03:01.1', 1: '0000:03:01.0' };
/** A PCI function with no physfn link: not a VF. */
export const NOT_A_VF = '0000:03:00.6';
/** A VF whose physfn link dangles (its PF is gone). */
export const ORPHAN_VF = '0000:03:01.3';
export const ORPHAN_PF = '0000:04:00.0';

const BRIDGE = 'sys/devices/pci0000:00/0000:00:02.0';

export interface Netdev {
  name: string;
  /** PCI device the netdev sits under. */
  parent: string;
  portName?: string;
  switchId?: string;
  ifindex: number;
}

/** PF0's netdevs: the uplink and the representors, as udev named them. */
export const NETDEVS: Netdev[] = [
  { name: 'enp3s0f0np0', parent: PF0, portName: 'p0', switchId: SWITCH_ID, ifindex: 4 },
  { name: 'enp3s0f0npf0vf0', parent: PF0, portName: 'pf0vf0', switchId: SWITCH_ID, ifindex: 10 },
  { name: 'eth7', parent: PF0, portName: 'pf0vf1', switchId: SWITCH_ID, ifindex: 11 },
  { name: 'enp3s0f0npf0vf2', parent: PF0, portName: 'pf0vf2', switchId: SWITCH_ID, ifindex: 12 },
  { name: 'enp3s0f0npf0vf3', parent: PF0, portName: 'pf0vf3', switchId: SWITCH_ID, ifindex: 13 },
  // Traps: another host's VF 3 (SmartNIC external host) and a sub-function, same switch.
  { name: 'enp3s0f0nc1pf0vf3', parent: PF0, portName: 'c1pf0vf3', switchId: SWITCH_ID, ifindex: 14 },
  { name: 'enp3s0f0npf0sf8', parent: PF0, portName: 'pf0sf8', switchId: SWITCH_ID, ifindex: 15 },
  // PF1 in legacy mode: no phys_port_name, no phys_switch_id.
  { name: 'enp3s0f1', parent: PF1, ifindex: 5 },
];

export class SysfsFixture {
  readonly root: string;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'sysfs-cx6dx-'));
    for (const addr of [PF0, PF1, ...Object.values(PF0_VFS), ...Object.values(PF1_VFS), NOT_A_VF, ORPHAN_VF])
      this.pciDevice(addr);
    for (const [i, vf] of Object.entries(PF0_VFS)) this.vf(PF0, Number(i), vf);
    for (const [i, vf] of Object.entries(PF1_VFS)) this.vf(PF1, Number(i), vf);
    symlinkSync(`../${PF0_DANGLING_VF}`, this.path(`${BRIDGE}/${PF0}/virtfn5`));
    symlinkSync(`../${ORPHAN_PF}`, this.path(`${BRIDGE}/${ORPHAN_VF}/physfn`));
    mkdirSync(this.path('sys/class/net'), { recursive: true });
    for (const n of NETDEVS) this.addNetdev(n);
    // A netdev that went away while its class link stayed (dangling).
    symlinkSync(`../../devices/virtual/net/eth9`, this.path('sys/class/net/eth9'));
  }

  path(rel: string): string {
    return join(this.root, rel);
  }

  private pciDevice(addr: string): void {
    mkdirSync(this.path(`${BRIDGE}/${addr}`), { recursive: true });
    mkdirSync(this.path('sys/bus/pci/devices'), { recursive: true });
    symlinkSync(`../../../devices/pci0000:00/0000:00:02.0/${addr}`, this.path(`sys/bus/pci/devices/${addr}`));
  }

  private vf(pf: string, index: number, vf: string): void {
    symlinkSync(`../${vf}`, this.path(`${BRIDGE}/${pf}/virtfn${index}`));
    symlinkSync(`../${pf}`, this.path(`${BRIDGE}/${vf}/physfn`));
  }

  addNetdev(n: Netdev): void {
    const dir = this.path(`${BRIDGE}/${n.parent}/net/${n.name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ifindex'), `${n.ifindex}\n`);
    if (n.portName !== undefined) writeFileSync(join(dir, 'phys_port_name'), `${n.portName}\n`);
    if (n.switchId !== undefined) writeFileSync(join(dir, 'phys_switch_id'), `${n.switchId}\n`);
    symlinkSync(
      `../../devices/pci0000:00/0000:00:02.0/${n.parent}/net/${n.name}`,
      this.path(`sys/class/net/${n.name}`),
    );
  }

  /** `ip link set OLD name NEW`, as udev or an operator does. */
  rename(parent: string, from: string, to: string): void {
    renameSync(this.path(`${BRIDGE}/${parent}/net/${from}`), this.path(`${BRIDGE}/${parent}/net/${to}`));
    unlinkSync(this.path(`sys/class/net/${from}`));
    symlinkSync(
      `../../devices/pci0000:00/0000:00:02.0/${parent}/net/${to}`,
      this.path(`sys/class/net/${to}`),
    );
  }

  /** The netdev disappears (driver unbind, eswitch back to legacy). */
  remove(parent: string, name: string): void {
    rmSync(this.path(`${BRIDGE}/${parent}/net/${name}`), { recursive: true });
    unlinkSync(this.path(`sys/class/net/${name}`));
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
