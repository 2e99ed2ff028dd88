import { expect } from 'chai';
import { describe, it } from 'mocha';
import { verdict } from '../../../src/policy/verdict.js';
import type { Flow } from '../../../src/policy/types.js';
import { mnp, NET, nsLabel, world } from './fixtures.js';
import { model } from './matrix.js';

const flow = (srcIp: string, dstIp: string, port = 80, protocol: Flow['protocol'] = 'TCP'): Flow => ({
  network: NET,
  srcIp,
  dstIp,
  protocol,
  port,
});

describe('verdict', () => {
  const mdl = model(
    world([
      mnp('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      mnp('y', 'from-x', {
        podSelector: {},
        ingress: [{ from: [{ namespaceSelector: nsLabel('x') }], ports: [{ port: 80 }] }],
      }),
      mnp('y', 'from-x-too', {
        podSelector: { matchLabels: { pod: 'a' } },
        ingress: [{ from: [{ namespaceSelector: nsLabel('x') }] }],
      }),
      mnp('z', 'external', {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }] }],
        egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 443 }] }],
      }),
    ]),
  );

  it('explains a denial with the isolating policies and the traffic', () => {
    const v = verdict(mdl, flow('10.0.1.1', '10.0.2.2'));
    expect(v.verdict).to.equal('deny');
    expect(v.egress).to.deep.equal({ isolated: true, allowed: false, allowedBy: [] });
    expect(v.ingress).to.deep.equal({
      isolated: true,
      allowed: true,
      allowedBy: [{ policy: 'y/from-x', direction: 'ingress', index: 0 }],
    });
    expect(v.reason).to.equal(
      'denied: egress of x/a (net1) on default/accel is isolated by [x/deny-all] and no rule allows TCP/80 to 10.0.2.2',
    );
  });

  it('lists every rule that allows, and explains an allow', () => {
    expect(verdict(mdl, flow('10.0.3.1', '10.0.2.1')).verdict, 'z may not send to y').to.equal('deny');
    const fromX = verdict(mdl, flow('10.0.1.1', '10.0.2.1'));
    expect(fromX.ingress.allowedBy.map((o) => o.policy)).to.deep.equal(['y/from-x', 'y/from-x-too']);
    const toZ = verdict(mdl, flow('10.0.2.1', '10.0.3.3', 443));
    expect(toZ.reason).to.equal(
      'denied: ingress of z/c (net1) on default/accel is isolated by [z/external] and no rule allows TCP/443 from 10.0.2.1',
    );
    const out = verdict(mdl, flow('10.0.2.1', '10.0.9.9', 22));
    expect(out.verdict).to.equal('allow');
    expect(out.reason).to.equal(
      'allowed: egress of y/a (net1) on default/accel is not isolated; destination 10.0.9.9 is not a managed interface on default/accel (ingress not isolated)',
    );
  });

  it('external addresses are never isolated but are matched by ipBlocks', () => {
    const inbound = verdict(mdl, flow('192.168.7.7', '10.0.3.1'));
    expect(inbound.verdict).to.equal('allow');
    expect(inbound.egress.isolated).to.equal(false);
    expect(inbound.reason).to.equal(
      'allowed: source 192.168.7.7 is not a managed interface on default/accel (egress not isolated); ingress of z/a (net1) on default/accel is allowed by z/external ingress[0]',
    );
    expect(verdict(mdl, flow('192.168.1.7', '10.0.3.1')).verdict).to.equal('deny');
    expect(verdict(mdl, flow('10.0.3.1', '8.8.8.8', 443)).verdict).to.equal('allow');
    expect(verdict(mdl, flow('10.0.3.1', '8.8.8.8', 80)).verdict).to.equal('deny');
    expect(verdict(mdl, flow('10.0.1.1', '8.8.8.8', 443)).verdict).to.equal('deny');
    expect(verdict(mdl, flow('8.8.4.4', '8.8.8.8')).reason).to.match(
      /^allowed: source 8\.8\.4\.4 is not a managed/,
    );
  });

  it('ICMP is allowed only by rules without ports', () => {
    expect(
      verdict(mdl, { network: NET, srcIp: '192.168.7.7', dstIp: '10.0.3.1', protocol: 'ICMP' }).verdict,
    ).to.equal('allow');
    const v = verdict(mdl, { network: NET, srcIp: '10.0.1.1', dstIp: '10.0.2.2', protocol: 'ICMP' });
    expect(v.reason).to.include('no rule allows ICMP to 10.0.2.2');
  });

  it('looks addresses up canonically and per network', () => {
    expect(verdict(mdl, flow('fd00:0:0::1:1', 'fd00::2:2')).egress.isolated).to.equal(true);
    expect(verdict(mdl, { ...flow('10.0.1.1', '10.0.2.2'), network: 'default/other' }).verdict).to.equal(
      'allow',
    );
  });
});
