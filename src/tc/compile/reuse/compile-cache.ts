// Memory of earlier compiles, for recompiling a node after a small change. Entries are keyed by
// the identity of the model objects a piece of the pipeline was built from: the policy model keeps
// unchanged interfaces and resolved rules as the same objects from one build to the next (see
// src/policy/update-model.ts), and never changes them once built. Where objects are new, an entry
// is kept only when what it was built from is shown equal: the same content (address pieces,
// decisions), or a rule an update replaced that differs only at addresses the entry does not
// read (the update's ModelDelta, recorded in the CompileMemo). A hit therefore gives exactly what
// building again would give; the compile result is the same with or without a cache. The rest of
// reuse/ says how each part is looked up; the node compiler (../node.ts) owns the cache.

import type { ChainFragment } from '../chains/chain-set.js';
import type { EgressPart } from '../decisions/egress-part.js';
import type { IngressPart } from '../decisions/ingress-part.js';
import type { Overrides } from '../decisions/overrides.js';
import type { RuleSources } from '../decisions/rule-sources.js';
import type { UplinkParts } from '../devices/uplink-types.js';
import type { VfParts } from '../devices/vf-types.js';
import type { DecisionRow } from './decision-rows.js';
import { Latest, Memo, ObjectIds } from './memo.js';
import type { ManagedInterface, ResolvedRule } from '../../../policy/types.js';

/** The last egress part of a VF and the rules it was built for (see egressPart). */
export interface LastEgress {
  rules: readonly ResolvedRule[];
  named: readonly ManagedInterface[] | undefined;
  part: EgressPart;
}

/** The last source chain of a pod interface and family, and what it was looked up by. */
export interface LastIngress {
  rules: readonly ResolvedRule[];
  /** The pod's named ports when the rules have named ports, '' otherwise. */
  named: string;
  sourcesName: string;
  part: IngressPart;
}

export class CompileCache {
  /** Numbers for the model objects that cache names are made of. */
  readonly ids = new ObjectIds();
  /** What a set of egress rule objects allows, as pieces (shared by VFs with those rules). */
  readonly egressSources = new Memo<RuleSources>();
  /** Chain +2 part of a VF for destinations off the node, per content of its egress rules. */
  readonly egressParts = new Memo<EgressPart>();
  /** The last egress part of each VF and family, and the rules it was built for. */
  readonly lastEgress = new Latest<LastEgress>();
  /** What one VF's pod may open to the other pods of the node, per VF. */
  readonly decisionRows = new Latest<DecisionRow>();
  /** A VF's decisions for the pods of its node that differ from its egress rules, per VF. */
  readonly overrides = new Latest<Overrides>();
  /** Sources one local pod's ingress rules allow, per set of rule objects. */
  readonly ingressSources = new Memo<RuleSources>();
  /** Source chain (on an uplink) per content. */
  readonly ingress = new Memo<IngressPart>();
  /** The last source chain per pod interface and family (its address map is reused in part). */
  readonly lastIngress = new Latest<LastIngress>();
  /** Parts of an uplink's last build (classify chain, chain +2 address maps), per device. */
  readonly uplinkParts = new Latest<UplinkParts>();
  /** Parts of a VF's last build (classify chain, override filters, rest of chain +2), per VF. */
  readonly vfParts = new Latest<VfParts>();
  /** Both egress parts of a VF merged in prio order, per pair of parts (see vfTail). */
  readonly egressRuns = new Memo<ChainFragment>();

  sweep(): void {
    this.lastIngress.sweep();
    this.uplinkParts.sweep();
    this.vfParts.sweep();
    this.egressRuns.sweep();
    this.egressSources.sweep();
    this.egressParts.sweep();
    this.lastEgress.sweep();
    this.decisionRows.sweep();
    this.overrides.sweep();
    this.ingress.sweep();
    this.ingressSources.sweep();
  }
}
