// The command line end to end on the host: --sysfs-root and --offload on render, show, explain.

import { expect } from 'chai';
import { execa } from 'execa';
import { PF0, SysfsFixture } from './sysfs-fixture.js';

const cli = (args: string[]) => execa('node', ['build/src/cli/main.js', ...args], { reject: false });
const BASE = ['--manifests', 'examples/manifests', '--hostname-override', 'worker-1'];

describe('command line: --sysfs-root and --offload', () => {
  let fx: SysfsFixture;
  before(() => {
    fx = new SysfsFixture();
  });
  after(() => fx.cleanup());

  it('render --sysfs-root names the devices sysfs gives, --offload=require adds skip_sw', async () => {
    const r = await cli(['render', ...BASE, '--sysfs-root', fx.root, '--offload=require']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const devices = [...r.stdout.matchAll(/^# device (\S+) /gm)].map((m) => m[1]);
    expect(devices).to.deep.equal([
      'enp3s0f0np0',
      'enp3s0f0npf0vf0',
      'enp3s0f0npf0vf2',
      'enp3s0f0npf0vf3',
      'eth7',
    ]);
    const filters = r.stdout.split('\n').filter((l) => l.startsWith('filter add'));
    expect(filters.length).to.be.greaterThan(10);
    expect(filters.every((l) => l.includes(' flower skip_sw '))).to.equal(true);
    expect(r.stderr).to.include('representor-device eth1 is stale or wrong: sysfs gives eth7; using eth7');
    const bad = await cli(['render', ...BASE, '--offload', 'sometimes']);
    expect(bad.exitCode).to.not.equal(0);
    expect(bad.stderr).to.include("'sometimes' is invalid");
  });

  it('show and explain --sysfs-root report a representor sysfs cannot find', async () => {
    fx.remove(PF0, 'eth7'); // app/frontend's representor (VF 0000:03:00.2, pf0vf1)
    const show = await cli(['show', ...BASE, '--sysfs-root', fx.root]);
    expect(show.exitCode, show.stderr).to.equal(0);
    const frontend = show.stdout.split('\n\n').find((b) => b.startsWith('app/frontend net1'))!;
    expect(frontend).to.include(
      '  egress: isolated by app/frontend-egress\n    NOT ENFORCED: no VF representor in sysfs: VF 0000:03:00.2 (pf0vf1): no netdev with phys_switch_id b8cef60300a1b2c3 has phys_port_name pf0vf1;',
    );
    const render = await cli(['render', ...BASE, '--sysfs-root', fx.root]);
    expect(render.stdout).to.include('# app/frontend net1 on app/accel-net (node worker-1) is NOT ENFORCED:');
    const renderJson = await cli(['render', ...BASE, '--sysfs-root', fx.root, '--format', 'json']);
    expect(renderJson.exitCode, renderJson.stderr).to.equal(0);
    const unenforced = (JSON.parse(renderJson.stdout) as { unenforced: Record<string, string>[] }).unenforced;
    expect(unenforced.map((u) => [u.pod, u.interface, u.direction])).to.deep.include([
      'app/frontend',
      'net1',
      'egress',
    ]);
    expect(unenforced.find((u) => u.pod === 'app/frontend')!.text).to.match(
      /is NOT ENFORCED: .*no VF representor in sysfs/,
    );
    expect(render.stderr).to.match(
      /"level":"error".*app\/frontend net1 on app\/accel-net \(node worker-1\) is NOT ENFORCED/,
    );
    // On worker-2, x/client (VF 0000:03:00.4, pf0vf2) loses its representor: client -> app/api-2
    // TCP 9999 is denied by api-2's ingress policy, checked on the client's representor only.
    fx.remove(PF0, 'enp3s0f0npf0vf2');
    const ex = await cli([
      'explain',
      ...['--manifests', 'examples/manifests', '--hostname-override', 'worker-2', '--sysfs-root', fx.root],
      ...[
        '--from',
        'x/client',
        '--to',
        'app/api-2',
        '--protocol',
        'TCP',
        '--port',
        '9999',
        '--format',
        'json',
      ],
    ]);
    expect(ex.exitCode, ex.stderr).to.equal(0);
    const json = JSON.parse(ex.stdout) as {
      verdict: string;
      notEnforced: { pod: string; direction: string }[];
      reference: { verdict: string };
    };
    expect([json.verdict, json.reference.verdict]).to.deep.equal(['allow', 'deny']);
    expect(json.notEnforced.map((u) => [u.pod, u.direction])).to.deep.equal([['x/client', 'egress']]);
  });
});
