// Truth-table helpers: render reachability between the standard pods as a grid ('.' allowed,
// 'X' denied, '-' a pod to itself, not judged, as in the e2e suite) and compare with a
// hand-written grid, so a failure shows both tables side by side.

import { expect } from 'chai';
import { buildPolicyModel } from '../../../src/policy/build-model.js';
import type { L4Protocol, PolicyModel } from '../../../src/policy/types.js';
import { verdict } from '../../../src/policy/verdict.js';
import type { ClusterSnapshot } from '../../../src/cluster/snapshot.js';
import { ALL_PODS, ip4, ip6, NAMESPACES, NET, PLUGIN, POD_NAMES } from './fixtures.js';

export interface Probe {
  protocol: L4Protocol;
  port?: number;
  /** Address family of the probe (default 4). */
  family?: 4 | 6;
  network?: string;
  /** Address of a pod on the probed network (default: the standard ip4/ip6 of the family). */
  ipOf?: (pod: string) => string;
}

export function model(snapshot: ClusterSnapshot, plugins: string[] = [PLUGIN]): PolicyModel {
  return buildPolicyModel(snapshot, { networkPlugins: plugins });
}

function header(): string[] {
  const group = POD_NAMES.join('');
  return [
    `    ${NAMESPACES.map((ns) => ns.padEnd(group.length)).join(' ')}`.trimEnd(),
    `    ${NAMESPACES.map(() => group).join(' ')}`,
  ];
}

export function grid(m: PolicyModel, probe: Probe): string {
  const ip = probe.ipOf ?? (probe.family === 6 ? ip6 : ip4);
  const rows = ALL_PODS.map((from) => {
    const cells = ALL_PODS.map((to) => {
      if (from === to) return '-';
      const v = verdict(m, {
        network: probe.network ?? NET,
        srcIp: ip(from),
        dstIp: ip(to),
        protocol: probe.protocol,
        port: probe.port,
      });
      return v.verdict === 'allow' ? '.' : 'X';
    });
    const groups: string[] = [];
    for (let i = 0; i < cells.length; i += POD_NAMES.length)
      groups.push(cells.slice(i, i + POD_NAMES.length).join(''));
    return `${from} ${groups.join(' ')}`;
  });
  return [...header(), ...rows].join('\n');
}

/** Compares the rendered grid with `expected` rows ("x/a -.. ... ..."); whitespace-tolerant. */
export function expectGrid(m: PolicyModel, probe: Probe, expected: string): void {
  const rows = expected
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '');
  const what = `${probe.protocol}${probe.port === undefined ? '' : `/${probe.port}`} IPv${probe.family ?? 4}`;
  expect(grid(m, probe), what).to.equal([...header(), ...rows].join('\n'));
}

/** Every pair allowed. */
export const ALL_ALLOWED = `
  x/a -.. ... ...
  x/b .-. ... ...
  x/c ..- ... ...
  y/a ... -.. ...
  y/b ... .-. ...
  y/c ... ..- ...
  z/a ... ... -..
  z/b ... ... .-.
  z/c ... ... ..-
`;
