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
      // Level 2: the "reconciled node" line of each reconcile.
      '-v',
      '2',
      ...extra,
    ],
    { reject: false },
  );
  const m = /reconciled node \S+: \d+ device\(s\), (\d+) tc line\(s\)/.exec(r.stderr);
  return { code: r.exitCode ?? -1, writes: m ? Number(m[1]) : -1, stderr: r.stderr };
}

import { NodePipelineBuilder } from '../../../src/agent/node-pipeline-builder.js';
import { reconcileOnce, type AgentOptions } from '../../../src/agent/run-agent.js';
import { ManifestsLoader } from '../../../src/cluster/load-manifests.js';
import { ExecaTcRunner } from '../../../src/tc/apply/tc-runner.js';
import { kernelReader, Reconciler } from '../../../src/tc/apply/reconcile.js';
import { DEFAULT_COMPILE_OPTIONS } from '../../../src/tc/compile/options.js';

/**
 * The agent's reconcile loop run in this process against one node namespace: the same code as
 * `--once` without a Node.js start per node (each costs seconds under TCG). One instance plays
 * one long-running agent; a new instance plays a restarted one.
 */
export class InProcessAgent {
  readonly runner: ExecaTcRunner;
  private readonly reconciler: Reconciler;
  private readonly seen = new Set<string>();
  /** Kept across reconciles, as the agent keeps it: changes go through the incremental path. */
  private readonly builder: NodePipelineBuilder;
  /** The agent's manifests source keeps one too: unchanged files give the same objects. */
  private readonly loader = new ManifestsLoader();

  constructor(
    readonly node: string,
    readonly netns: string,
    readonly compile = DEFAULT_COMPILE_OPTIONS,
  ) {
    this.runner = new ExecaTcRunner('tc', netns);
    this.reconciler = new Reconciler(this.runner, kernelReader(this.runner), compile.ctZone);
    this.builder = new NodePipelineBuilder(node, ['accelerated-bridge'], compile);
  }

  async reconcile(manifests: string): Promise<{ ok: boolean; writes: number; failed: string[] }> {
    const o: AgentOptions = {
      nodeName: this.node,
      manifests,
      once: true,
      tcBinary: 'tc',
      networkPlugins: ['accelerated-bridge'],
      compile: this.compile,
    };
    const source = {
      snapshot: () => this.loader.snapshot(manifests),
      onChange: () => undefined,
      stop: () => undefined,
    };
    return reconcileOnce(source, this.reconciler, this.builder, o, this.seen);
  }
}
