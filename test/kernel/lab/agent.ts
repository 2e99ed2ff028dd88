// Runs the agent of one node once, in that node's namespace, as an operator would.

import { execa } from 'execa';

export interface AgentRun {
  code: number;
  /** tc lines the agent wrote, from its "reconciled" log line. */
  writes: number;
  stderr: string;
}

export async function agentOnce(
  manifests: string,
  node: string,
  nodeNs: string,
  extra: string[] = [],
): Promise<AgentRun> {
  const r = await execa(
    'ip',
    [
      'netns',
      'exec',
      nodeNs,
      'node',
      'build/src/cli/main.js',
      '--manifests',
      manifests,
      '--hostname-override',
      node,
      '--once',
      '-v',
      '1',
      ...extra,
    ],
    { reject: false },
  );
  const m = /reconciled node \S+: \d+ device\(s\), (\d+) tc line\(s\)/.exec(r.stderr);
  return { code: r.exitCode ?? -1, writes: m ? Number(m[1]) : -1, stderr: r.stderr };
}
