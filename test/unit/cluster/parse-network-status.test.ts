import { expect } from 'chai';
import { parseNetworkStatus, statusIp } from '../../../src/cluster/parse-network-status.js';

const POD = 'Pod app/p';
const STATUS = 'k8s.v1.cni.cncf.io/network-status';
const DEPRECATED = 'k8s.v1.cni.cncf.io/networks-status';

const primary = { name: 'cbr0', interface: 'eth0', ips: ['10.56.200.5'], default: true };
const sriov = {
  name: 'app/accel-net',
  interface: 'net1',
  ips: ['10.56.1.5', 'FD00:56:0:0::5'],
  mac: 'CA:FE:C0:FF:EE:00',
  'device-info': {
    type: 'pci',
    version: '1.1.0',
    pci: { 'pci-address': '0000:03:00.4', 'pf-pci-address': '0000:03:00.0', 'representor-device': 'eth5' },
  },
};

function parse(entries: unknown, key = STATUS) {
  return parseNetworkStatus({ [key]: JSON.stringify(entries) }, 'app', POD);
}

describe('parseNetworkStatus', () => {
  it('reads secondary interfaces with device-info and skips the default network', () => {
    const r = parse([primary, sriov]);
    expect(r.problems).to.deep.equal([]);
    expect(r.value).to.deep.equal([
      {
        network: 'app/accel-net',
        interface: 'net1',
        ips: ['10.56.1.5', 'fd00:56::5'],
        mac: 'ca:fe:c0:ff:ee:00',
        pciAddress: '0000:03:00.4',
        pfPciAddress: '0000:03:00.0',
        representor: 'eth5',
      },
    ]);
  });

  it('accepts addresses with a prefix length and drops it', () => {
    const r = parse([{ ...sriov, ips: ['10.56.1.5/24', 'fd00:56::5/64'] }]);
    expect(r.value[0]?.ips).to.deep.equal(['10.56.1.5', 'fd00:56::5']);
    expect(statusIp('10.56.1.5/33')).to.equal(undefined);
    expect(statusIp('fd00::1/129')).to.equal(undefined);
    expect(statusIp('10.56.1.5/24/1')).to.equal(undefined);
  });

  it('gives a bare network name the pod namespace', () => {
    expect(parse([{ name: 'accel-net', interface: 'net1', ips: [] }]).value[0]?.network).to.equal(
      'app/accel-net',
    );
  });

  it('keeps an interface without device-info, with no PCI fields and no problem', () => {
    const r = parse([{ name: 'app/macvlan-net', interface: 'net1', ips: ['10.56.3.5'] }]);
    expect(r.problems).to.deep.equal([]);
    expect(r.value).to.deep.equal([{ network: 'app/macvlan-net', interface: 'net1', ips: ['10.56.3.5'] }]);
  });

  it('reads the deprecated key only when the current one is absent', () => {
    const old = parse([sriov], DEPRECATED);
    expect(old.value.map((i) => i.interface)).to.deep.equal(['net1']);
    const both = parseNetworkStatus(
      { [STATUS]: JSON.stringify([{ ...sriov, interface: 'net9' }]), [DEPRECATED]: JSON.stringify([sriov]) },
      'app',
      POD,
    );
    expect(both.value.map((i) => i.interface)).to.deep.equal(['net9']);
    expect(parseNetworkStatus(undefined, 'app', POD)).to.deep.equal({ value: [], problems: [] });
  });

  it('a malformed annotation gives no interfaces and one error', () => {
    for (const text of ['[{"name":', '{"name":"a"}', '']) {
      const r = parseNetworkStatus({ [STATUS]: text }, 'app', POD);
      expect(r.value).to.deep.equal([]);
      expect(r.problems).to.have.length(1);
      expect(r.problems[0]).to.include({
        severity: 'error',
        object: POD,
        path: `metadata.annotations["${STATUS}"]`,
        effect: "the pod's secondary interfaces are left unmanaged",
      });
    }
  });

  it('skips an entry without interface or with an invalid address, keeping the others', () => {
    const r = parse([
      { name: 'app/a', ips: ['10.56.1.1'] },
      { name: 'app/b', interface: 'net2', ips: ['10.56.1.300'] },
      { name: 'app/c', interface: 'net3', ips: 'nope' },
      { name: 'a/b/c', interface: 'net4' },
      sriov,
    ]);
    expect(r.value.map((i) => i.interface)).to.deep.equal(['net1']);
    expect(r.problems.map((p) => p.path)).to.deep.equal([
      `metadata.annotations["${STATUS}"][0].interface`,
      `metadata.annotations["${STATUS}"][1].ips[0]`,
      `metadata.annotations["${STATUS}"][2].ips`,
      `metadata.annotations["${STATUS}"][3].name`,
    ]);
    expect(
      r.problems.every((p) => p.severity === 'error' && p.effect === 'this interface is left unmanaged'),
    ).to.equal(true);
  });

  it('drops unreadable device-info fields and MACs with a warning', () => {
    const r = parse([
      {
        ...sriov,
        mac: 'not-a-mac',
        'device-info': { type: 'pci', pci: { 'pci-address': '03:00.4', 'representor-device': 'bad/name' } },
      },
    ]);
    expect(r.value[0]).to.deep.equal({
      network: 'app/accel-net',
      interface: 'net1',
      ips: ['10.56.1.5', 'fd00:56::5'],
    });
    expect(r.problems.map((p) => p.severity)).to.deep.equal(['warning', 'warning', 'warning']);
  });

  it('ignores device-info of other device types', () => {
    const r = parse([{ ...sriov, 'device-info': { type: 'vhost-user', 'vhost-user': { mode: 'server' } } }]);
    expect(r.problems).to.deep.equal([]);
    expect(r.value[0]?.pciAddress).to.equal(undefined);
  });

  it('reports a second entry for the same interface', () => {
    const r = parse([sriov, { ...sriov, name: 'app/other' }]);
    expect(r.value).to.have.length(1);
    expect(r.problems[0]?.message).to.contain('listed twice');
  });
});
