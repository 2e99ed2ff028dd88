// From a cluster snapshot to the node's pipeline, remembering the previous run: when only pods
// changed, the model is updated instead of rebuilt and the node compiler reuses every device whose
// inputs did not change. The result is always the one a full build would give (unit-tested in
// test/unit/policy/update-model.test.ts); only the time differs.

import type { ClusterSnapshot } from '../cluster/snapshot.js';
import { diffSnapshots } from '../cluster/snapshot-diff.js';
import { buildPolicyModel } from '../policy/build-model.js';
import type { ModelDelta, PolicyModel, ResolvedRule, RuleChange } from '../policy/types.js';
import { ModelIndexes } from '../policy/model-index.js';
import { updatePolicyModel } from '../policy/update-model.js';
import { NodeCompiler } from '../tc/compile/node.js';
import type { CompileOptions } from '../tc/compile/options.js';
import type { NodePipeline } from '../tc/ir.js';
import type { DeviceSource } from '../node/device-source.js';

export interface NodeBuild {
  model: PolicyModel;
  pipeline: NodePipeline;
  /** How the model was obtained, for the log. */
  how: string;
}

export class NodePipelineBuilder {
  private last?: { snapshot: ClusterSnapshot; model: PolicyModel };
  private readonly compiler: NodeCompiler;
  /**
   * The rules replaced by the model updates since the last compile, merged (the agent may build a
   * model and stop before compiling it): the next compile takes them all, as if each had been
   * compiled, and the merged delta is dropped once compiled.
   */
  private pending = new Map<ResolvedRule, RuleChange>();
  /** The index of the last model, handed on by each update (built lazily after a full build). */
  private readonly indexes = new ModelIndexes();

  constructor(
    private readonly nodeName: string,
    private readonly networkPlugins: string[],
    compile: CompileOptions,
    /** Where the node's devices come from (sysfs or annotations); the annotations by default. */
    private readonly devices?: DeviceSource,
  ) {
    this.compiler = new NodeCompiler(compile);
  }

  build(snapshot: ClusterSnapshot): NodeBuild {
    const { model, how } = this.buildModel(snapshot);
    return { model, pipeline: this.compileNode(model, snapshot), how };
  }

  /** The first stage of build: the policy model (the agent checks for a stop after it). */
  buildModel(snapshot: ClusterSnapshot): { model: PolicyModel; how: string } {
    const opts = { networkPlugins: this.networkPlugins };
    let model: PolicyModel;
    let how: string;
    const diff = this.last ? diffSnapshots(this.last.snapshot, snapshot) : undefined;
    if (!this.last || !diff) {
      model = buildPolicyModel(snapshot, opts);
      how = 'full build (first run)';
    } else if (diff.kind === 'other') {
      model = buildPolicyModel(snapshot, opts);
      how = `full build (${diff.what} changed)`;
    } else if (diff.changed.length === 0) {
      model = this.last.model;
      how = 'no change';
    } else {
      const upd = updatePolicyModel(
        this.last.model,
        this.last.snapshot,
        snapshot,
        diff.changed,
        opts,
        this.indexes,
      );
      model = upd.model;
      this.addPending(upd.delta);
      how = upd.incremental
        ? `incremental (${diff.changed.length} pod(s) changed)`
        : `full build (${upd.reason})`;
    }
    this.last = { snapshot, model };
    return { model, how };
  }

  /**
   * The second stage of build: the node's pipeline from the model of `snapshot`. Devices are
   * placed on every compile: the sysfs source re-reads what a link change touched.
   */
  compileNode(model: PolicyModel, snapshot: ClusterSnapshot): NodePipeline {
    const node = snapshot.nodes.get(this.nodeName);
    const placed = this.devices?.place(model, this.nodeName, node);
    const delta: ModelDelta = { replaced: this.pending };
    const compiled = this.compiler.compile(model, this.nodeName, node, placed?.lookup, undefined, delta);
    this.pending = new Map();
    return placed?.warnings.length
      ? { ...compiled, warnings: [...placed.warnings, ...compiled.warnings] }
      : compiled;
  }

  /** Merge an update's delta into the pending one (a rule replaced again keeps only its last step). */
  private addPending(delta: ModelDelta): void {
    for (const [fresh, change] of delta.replaced) {
      this.pending.delete(change.previous);
      this.pending.set(fresh, change);
    }
  }
}
