import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLinkMonitor } from '../../../src/node/link-monitor.js';

describe('link monitor', () => {
  it('calls back on every line of `ip -o monitor link`, and restarts the child when it exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-ip-'));
    const ip = join(dir, 'ip');
    // A stand-in for iproute2: checks its arguments, prints two events and exits.
    writeFileSync(
      ip,
      '#!/bin/sh\n[ "$*" = "-o monitor link" ] || exit 9\necho "7: eth7: <BROADCAST> mtu 1500"\necho "Deleted 7: eth7"\nexit 3\n',
    );
    chmodSync(ip, 0o755);
    const lines: string[] = [];
    const errors: string[] = [];
    const m = startLinkMonitor(
      (l) => lines.push(l),
      (e) => errors.push(e),
      ip,
      10,
    );
    try {
      for (let i = 0; i < 200 && lines.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      m.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(lines.slice(0, 4)).to.deep.equal([
      '7: eth7: <BROADCAST> mtu 1500',
      'Deleted 7: eth7',
      '7: eth7: <BROADCAST> mtu 1500',
      'Deleted 7: eth7',
    ]);
    expect(errors[0]).to.equal(`${ip} -o monitor link exited with 3; restarting in 10 ms`);
  });
});
