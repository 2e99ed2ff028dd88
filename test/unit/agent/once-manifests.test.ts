// `run --manifests DIR --once` (what the kernel lab runs on every node): it reconciles at once,
// without waiting for informers it does not have, and logs the "reconciled node" line at -v 2.

import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderedDevices } from '../../support/rendered-devices.js';
import { StandInTools } from '../../support/stand-in-tools.js';

/** The real CLI on the examples, once, for node worker-1, with `args` added. */
function runOnce(tools: StandInTools, args: string[]) {
  const base = [
    'build/src/cli/main.js',
    '--manifests',
    'examples/manifests',
    '--hostname-override',
    'worker-1',
  ];
  return execa('node', [...base, '--once', ...args], { reject: false, env: tools.env() });
}

describe('run --manifests --once (real CLI, stand-in tc)', function () {
  this.timeout(60_000);

  it('programs the node and exits 0, with the reconcile line the lab parses', async () => {
    const devices = await renderedDevices('examples/manifests', 'worker-1');
    const tools = new StandInTools(['lo', ...devices]);
    try {
      const t0 = Date.now();
      const r = await runOnce(tools, ['-v', '2', '--tc', tools.tc]);
      expect(r.exitCode, r.stderr).to.equal(0);
      expect(Date.now() - t0).to.be.below(30_000);
      const m = /reconciled node \S+: \d+ device\(s\), (\d+) tc line\(s\)/.exec(r.stderr);
      expect(Number(m?.[1])).to.equal(tools.writes().length).and.to.be.greaterThan(0);
    } finally {
      tools.remove();
    }
  });

  it('gives each tc process the --tc-timeout limit', async () => {
    const devices = await renderedDevices('examples/manifests', 'worker-1');
    const tools = new StandInTools(['lo', ...devices]);
    // A tc whose qdisc listing hangs (the agent's first read); the rest is the stand-in's.
    const hanging = join(tools.dir, 'hanging-tc');
    writeFileSync(
      hanging,
      `#!/bin/bash\nif [ "$*" = "-j qdisc show" ]; then exec sleep 60; fi\nexec "${tools.tc}" "$@"\n`,
    );
    chmodSync(hanging, 0o755);
    try {
      const t0 = Date.now();
      const r = await runOnce(tools, ['--tc', hanging, '--tc-timeout', '1']);
      expect(r.exitCode, r.stderr).to.not.equal(0);
      expect(r.stderr).to.match(/timed out after 1000 ms/);
      // Killed after 1 s (the default would wait 60 s); the rest is start-up.
      expect(Date.now() - t0).to.be.below(30_000);
      expect(tools.writes()).to.deep.equal([]);
    } finally {
      tools.remove();
    }
  });
});
