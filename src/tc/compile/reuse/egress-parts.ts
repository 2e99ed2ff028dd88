// A VF's egress part through the compile cache: kept while its rules decide the same, shared
// between VFs with equal rules, patched where an update changed the rules at a few addresses.

import {
  buildEgressPart,
  type EgressPart,
  egressPieces,
  UNISOLATED_EGRESS,
} from '../decisions/egress-part.js';
import { anyNamedPorts, portsForPeer, rulesCover } from '../decisions/rule-ports.js';
import { piecesKey } from '../decisions/rule-sources.js';
import type { VfDeviceInput } from '../devices/vf-types.js';
import type { CompileCache } from './compile-cache.js';
import type { CompileMemo } from './compile-memo.js';
import { sameInputs } from './memo.js';
import { patchPieces, patchPoints } from './patch-pieces.js';
import { changedAddresses } from './same-inputs.js';
import { portSetKey } from '../../../policy/ports.js';
import type { ResolvedRule } from '../../../policy/types.js';
import { contentDigest } from '../../../util/content-digest.js';
import { type Family, findInterval, parseAddress } from '../../../util/ip/index.js';

/**
 * The egress rules of a VF's pod as a fragment of chain +2 (with its port chains), built in a set
 * of its own so that it can be cached and replayed into the device's set. The fragment depends
 * only on the rules (not on the pod), so VFs whose pods have equal egress rules share it.
 */
export function egressPart(
  input: VfDeviceInput,
  family: Family,
  cache: CompileCache | undefined,
): EgressPart {
  const src = input.iface;
  if (!src.egress.isolated) return UNISOLATED_EGRESS;
  const memo = input.memo;
  const rules = src.egress.rules;
  // Named ports resolve on the pods of the network: then their list matters too (NodeCompiler
  // keeps it as the same array while no pod on the network changes).
  const namedOf = () => (anyNamedPorts(memo, rules) ? input.networkInterfaces : undefined);
  if (!cache) return buildEgressPart(family, egressPieces(memo, rules, family, namedOf()));
  const last = `${src.key}/ipv${family}`;
  const prev = cache.lastEgress.get(last);
  // The same rule list (the usual case): the same part, while the network's pods are the same
  // too when the rules have named ports.
  if (prev && prev.rules === rules && (!prev.named || prev.named === input.networkInterfaces))
    return prev.part;
  const named = namedOf();
  // The VF's last part also stays when its rules were replaced by rules that differ only at
  // addresses where the part decides the same (see decidesSameAt).
  if (
    prev &&
    prev.named === named &&
    (sameInputs(prev.rules, rules) || (!named && decidesSameAt(memo, prev.part, prev.rules, rules, family)))
  ) {
    cache.lastEgress.set(last, { rules, named, part: prev.part });
    return prev.part;
  }
  // Otherwise: the pieces per set of rule objects, then the part per content, so that new rule
  // objects that decide the same keep the part (and VFs with equal rules share it).
  // Rules an update replaced at a few addresses take the last pieces with those addresses
  // decided again (see patchPieces); other rules are partitioned from scratch.
  const name = `ipv${family}/${rules.map(cache.ids.of).join(',')}${named ? `/${cache.ids.of(named)}` : ''}`;
  const sources = cache.egressSources.get(name, [...rules, named], () => {
    const at = prev && !named && !prev.named ? changedAddresses(memo, rules, prev.rules) : undefined;
    if (at && prev!.part.content) {
      // Patched pieces are named by what they were patched from and the patch: that names them
      // exactly too, without printing every piece (the same content reached another way is
      // built once more, which costs time, never a difference).
      // What the rules decide at the changed addresses: a gap where no rule covers one.
      const points = patchPoints(at, family, (v) =>
        rulesCover(memo, rules, family, v)
          ? portsForPeer(memo, rules as ResolvedRule[], family, v, undefined)
          : undefined,
      );
      const patch = points.map((p) => `${p.at}:${p.value ? portSetKey(p.value) : '-'}`).join(';');
      return {
        pieces: patchPieces(prev!.part.pieces!, points),
        content: `egress/ipv${family}/${contentDigest(`${prev!.part.content}+${patch}`)}`,
      };
    }
    const pieces = egressPieces(memo, rules, family, named);
    return { pieces, content: `egress/ipv${family}/${contentDigest(piecesKey(pieces))}` };
  });
  const part = cache.egressParts.get(sources.content, [], () =>
    buildEgressPart(family, sources.pieces, sources.content, prev?.part.map),
  );
  cache.lastEgress.set(last, { rules, named, part });
  return part;
}

/**
 * Whether `part`, built for `old`, decides as `rules` would: every rule is the old one or
 * replaced it with changes at some addresses (the update's ModelDelta), and at those addresses
 * the new rules allow the same ports as the part. Rules without named ports only.
 */
function decidesSameAt(
  memo: CompileMemo,
  part: EgressPart,
  old: readonly ResolvedRule[],
  rules: readonly ResolvedRule[],
  family: Family,
): boolean {
  const at = changedAddresses(memo, rules, old);
  if (!at) return false;
  for (const ip of at) {
    const a = parseAddress(ip);
    if (!a || a.family !== family) continue;
    const now = portsForPeer(memo, rules as ResolvedRule[], family, a.value, undefined);
    if (portSetKey(now) !== portSetKey(part.valueAt(a.value))) return false;
    // The same coverage too, so that the part's pieces stay exactly what partition gives for
    // `rules` (patchPieces starts from them).
    const inPart = findInterval(part.pieces ?? [], a.value, (p) => p.interval) >= 0;
    if (inPart !== rulesCover(memo, rules, family, a.value)) return false;
  }
  return true;
}
