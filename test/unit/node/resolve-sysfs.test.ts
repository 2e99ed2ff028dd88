import { expect } from 'chai';
import { unlinkSync } from 'node:fs';
import { hostSysFs } from '../../../src/node/sysfs.js';
import { resolveFromSysfs } from '../../../src/node/resolve-sysfs.js';
import {
  NOT_A_VF,
  ORPHAN_PF,
  ORPHAN_VF,
  PF0,
  PF0_DANGLING_VF,
  PF0_VFS,
  PF1,
  PF1_VFS,
  SWITCH_ID,
  SysfsFixture,
} from './sysfs-fixture.js';

describe('resolveFromSysfs over a ConnectX-6 Dx tree', () => {
  let fx: SysfsFixture;
  beforeEach(() => {
    fx = new SysfsFixture();
  });
  afterEach(() => fx.cleanup());
  const resolve = (q: Parameters<typeof resolveFromSysfs>[1]) => resolveFromSysfs(hostSysFs(fx.root), q);

  it('finds PF, VF index, uplink and representor through a non-identity virtfn mapping', () => {
    const expected: Record<string, [number, string]> = {
      [PF0_VFS[0]!]: [0, 'enp3s0f0npf0vf0'],
      [PF0_VFS[1]!]: [1, 'eth7'],
      [PF0_VFS[2]!]: [2, 'enp3s0f0npf0vf2'],
      [PF0_VFS[3]!]: [3, 'enp3s0f0npf0vf3'],
    };
    for (const [vf, [index, rep]] of Object.entries(expected)) {
      expect(resolve({ pciAddress: vf }), vf).to.deep.equal({
        warnings: [],
        pf: PF0,
        vfIndex: index,
        switchId: SWITCH_ID,
        uplink: 'enp3s0f0np0',
        representor: rep,
      });
    }
  });

  it('takes pf0vf3, never the external host c1pf0vf3 nor the sub-function pf0sf8', () => {
    expect(resolve({ pciAddress: PF0_VFS[3] }).representor).to.equal('enp3s0f0npf0vf3');
    fx.remove(PF0, 'enp3s0f0npf0vf3');
    const r = resolve({ pciAddress: PF0_VFS[3] });
    expect(r.representor).to.equal(undefined);
    expect(r.representorMissing).to.equal(
      `VF ${PF0_VFS[3]} (pf0vf3): no netdev with phys_switch_id ${SWITCH_ID} has phys_port_name pf0vf3`,
    );
  });

  it('checks the representor-device hint: a right hint is quiet, a stale one warns and sysfs wins', () => {
    expect(resolve({ pciAddress: PF0_VFS[1], hint: 'eth7' }).warnings).to.deep.equal([]);
    const stale = resolve({ pciAddress: PF0_VFS[1], hint: 'eth5' });
    expect(stale.representor).to.equal('eth7');
    expect(stale.warnings).to.deep.equal([
      'device-info representor-device eth5 is stale or wrong: sysfs gives eth7; using eth7',
    ]);
  });

  it('warns when device-info names another PF than physfn, and follows physfn', () => {
    const r = resolve({ pciAddress: PF0_VFS[0], pfPciAddress: PF1 });
    expect(r.pf).to.equal(PF0);
    expect(r.uplink).to.equal('enp3s0f0np0');
    expect(r.warnings).to.deep.equal([
      `device-info pf-pci-address ${PF1} disagrees with sysfs (physfn of ${PF0_VFS[0]} is ${PF0}); using ${PF0}`,
    ]);
  });

  it('a VF with no representor keeps its uplink and says which port name is missing', () => {
    const r = resolve({ pciAddress: PF0_VFS[4] });
    expect(r.uplink).to.equal('enp3s0f0np0');
    expect(r.vfIndex).to.equal(4);
    expect(r.representorMissing).to.equal(
      `VF ${PF0_VFS[4]} (pf0vf4): no netdev with phys_switch_id ${SWITCH_ID} has phys_port_name pf0vf4`,
    );
  });

  it('a PF in legacy mode has neither uplink nor representors, and says so', () => {
    const r = resolve({ pciAddress: PF1_VFS[1], hint: 'eth3' });
    expect(r.pf).to.equal(PF1);
    expect(r.vfIndex).to.equal(1);
    const legacy = `PF ${PF1} is not in switchdev mode (no phys_switch_id on enp3s0f1): a PF in legacy SR-IOV mode has no representors`;
    expect(r.uplinkMissing).to.equal(legacy);
    expect(r.representorMissing).to.equal(`VF ${PF1_VFS[1]} (pf1vf1) has no representor: ${legacy}`);
    expect(r.warnings).to.deep.equal([
      'device-info representor-device eth3 cannot be checked against sysfs; it is not used',
    ]);
  });

  it('a PCI function without physfn is not a VF; the uplink still comes from pf-pci-address', () => {
    const r = resolve({ pciAddress: NOT_A_VF, pfPciAddress: PF0 });
    expect(r.representorMissing).to.equal(`${NOT_A_VF} has no physfn link: it is not a VF`);
    expect(r.uplink).to.equal('enp3s0f0np0');
  });

  it('a VF missing from sysfs (the target of a dangling virtfn link)', () => {
    const r = resolve({ pciAddress: PF0_DANGLING_VF, pfPciAddress: PF0 });
    expect(r.representorMissing).to.equal(
      `VF ${PF0_DANGLING_VF} is not in sysfs (/sys/bus/pci/devices/${PF0_DANGLING_VF} is missing)`,
    );
    expect(r.uplink).to.equal('enp3s0f0np0');
  });

  it('a VF whose physfn link dangles', () => {
    const r = resolve({ pciAddress: ORPHAN_VF });
    const gone = `PF ${ORPHAN_PF} is not in sysfs (/sys/bus/pci/devices/${ORPHAN_PF} is missing or a dangling link)`;
    expect(r).to.deep.equal({ warnings: [], pf: ORPHAN_PF, uplinkMissing: gone, representorMissing: gone });
  });

  it('a VF that no virtfn link of its PF points at', () => {
    // The VF keeps its physfn; the PF's virtfn2 link is gone.
    unlinkSync(fx.path(`sys/devices/pci0000:00/0000:00:02.0/${PF0}/virtfn2`));
    expect(resolve({ pciAddress: PF0_VFS[2] }).representorMissing).to.equal(
      `no virtfnN link of PF ${PF0} points at ${PF0_VFS[2]}`,
    );
  });

  it('without pci-address: the uplink from pf-pci-address, no representor', () => {
    const r = resolve({ pfPciAddress: PF0 });
    expect(r.uplink).to.equal('enp3s0f0np0');
    expect(r.representorMissing).to.equal('device-info has no pci-address, so the VF is unknown');
    const none = resolve({});
    expect(none.uplinkMissing).to.equal(
      'the PF is unknown (device-info has no usable pci-address or pf-pci-address)',
    );
    expect(none.representorMissing).to.equal('device-info has no pci-address, so the VF is unknown');
  });

  it('a PF whose uplink netdev is gone (switchdev, representors still there)', () => {
    fx.remove(PF0, 'enp3s0f0np0');
    const r = resolve({ pciAddress: PF0_VFS[0] });
    expect(r.uplinkMissing).to.match(
      /^PF 0000:03:00.0 has no netdev whose phys_port_name is p<N> \(checked /,
    );
    expect(r.representorMissing).to.match(
      /^VF 0000:03:00.5 \(pf0vf0\) has no representor: PF 0000:03:00.0 has no netdev/,
    );
  });

  it('the sysfs root prefixes every path: the host root finds no fixture device', () => {
    const r = resolveFromSysfs(hostSysFs('/nonexistent-sysfs-root'), { pciAddress: PF0_VFS[0] });
    expect(r.representorMissing).to.equal(
      `VF ${PF0_VFS[0]} is not in sysfs (/sys/bus/pci/devices/${PF0_VFS[0]} is missing)`,
    );
  });
});
