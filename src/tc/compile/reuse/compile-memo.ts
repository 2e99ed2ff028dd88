// What the compiler remembers about model objects while it compiles: the parsed addresses of
// interfaces, the address intervals of rules and blocks, the source pieces of ingress rule lists, the named-port contributions of
// egress rules. Every entry is a pure function of its key (model objects never change once
// built), so a memo changes only the time a compile takes, never its output.
//
// A memo has an owner, which decides how long it lives: `compileNode`/`compileNodeDevices`
// create a fresh one per call (a from-scratch compile shares nothing with another), a
// `NodeCompiler` keeps one for its lifetime (the agent's incremental compiles), and
// `explain --matrix` keeps one that it drops to bound its memory. The maps are weak so that a
// long-lived owner does not keep the rules of replaced models alive.
//
// It also holds what model updates said about the rules they replaced (ModelDelta): how a rule
// differs from the one before it is a fact about the rule, fixed when the update made it. The
// owner records each delta before compiling the model it came with (see NodeCompiler.compile).

import type { PodInfo } from '../../../cluster/snapshot.js';
import type {
  AddressBlock,
  ManagedInterface,
  ModelDelta,
  PortSet,
  ResolvedRule,
  RuleChange,
} from '../../../policy/types.js';
import type { Contribution, Family, Interval, Piece } from '../../../util/ip/index.js';
import { ResolvedFilters } from '../chains/chain-set.js';

/** One address of an interface list and the interface it belongs to. */
export interface AddressOwner {
  value: bigint;
  iface: ManagedInterface;
}

export class CompileMemo {
  /** The addresses a rule's peers cover, per family (see decisions/rule-ports.ts ruleIntervals). */
  readonly ruleIntervals = new WeakMap<ResolvedRule, Partial<Record<Family, Interval[]>>>();
  /** A block's addresses without its exceptions, per family: blocks are shared between rules. */
  readonly blockIntervals = new WeakMap<AddressBlock, Partial<Record<Family, Interval[]>>>();
  /** Whether some rule of the list has named ports. */
  readonly namedLists = new WeakMap<readonly ResolvedRule[], boolean>();
  /**
   * Sources an ingress rule list allows, per named ports of the pod ('' when the rules have
   * none), per family (see decisions/ingress-pieces.ts).
   */
  readonly ingressPieces = new WeakMap<
    readonly ResolvedRule[],
    Map<string, Partial<Record<Family, Piece<PortSet>[]>>>
  >();
  /** The last ingress rule list (without named ports) each rule was seen in, for patching. */
  readonly lastIngressList = new WeakMap<ResolvedRule, readonly ResolvedRule[]>();
  /**
   * Named-port contributions of an egress rule: per network array, then per rule and family
   * (keyed this way round so that a replaced array takes its entries with it).
   */
  readonly namedContributions = new WeakMap<
    readonly ManagedInterface[],
    WeakMap<ResolvedRule, Partial<Record<Family, Contribution<PortSet>[]>>>
  >();
  /**
   * The rule each rule replaced, and where they differ, from the deltas recorded so far (one step
   * of history: a rule replaced again loses its own entry, so that no chain of old versions stays
   * alive). Rules of a full build have none.
   */
  readonly ruleChanges = new WeakMap<ResolvedRule, RuleChange>();
  /**
   * The last answer of changedAddresses per rule list (see reuse/same-inputs.ts), one step deep:
   * a list's answer is dropped when a newer list is compared with it.
   */
  readonly changedAt = new WeakMap<
    readonly ResolvedRule[],
    { prev: readonly ResolvedRule[]; at: Set<string> | undefined }
  >();

  /** A pod interface's addresses, parsed, per family (see decisions/interface-addresses.ts). */
  readonly interfaceAddresses = new WeakMap<ManagedInterface, Record<Family, bigint[]>>();
  /** Every address of an interface list with its interface, sorted per family (see ownersIn). */
  readonly addressOwners = new WeakMap<readonly ManagedInterface[], Record<Family, AddressOwner[]>>();

  /**
   * What ChainSet.finish made of pending filters and fragments (resolved copies, sorted runs),
   * for the finishes of later compiles that replay them (see chains/chain-set.ts).
   */
  readonly resolvedFilters = new ResolvedFilters();

  /** A pod as the compiler reads it: only its named ports, as text (see namedPortsKey). */
  private readonly namedPortKeys = new WeakMap<PodInfo, string>();

  /** A pod as the compiler reads it: only its named ports (a label change leaves them alone). */
  namedPortsKey(pod: PodInfo): string {
    let key = this.namedPortKeys.get(pod);
    if (key === undefined) this.namedPortKeys.set(pod, (key = JSON.stringify(pod.namedPorts)));
    return key;
  }

  /** Remember the rules a model update replaced, for the compiles of its model and after. */
  record(delta: ModelDelta | undefined): void {
    if (!delta) return;
    for (const [fresh, change] of delta.replaced) {
      this.ruleChanges.delete(change.previous);
      this.ruleChanges.set(fresh, change);
    }
  }
}
