// A pod interface's source chain through the compile cache: shared between equal contents, and
// built from the pod's last one where most of its address map stays.

import { buildIngressChain, type IngressPart } from '../decisions/ingress-part.js';
import { ingressPieces } from '../decisions/ingress-pieces.js';
import { anyNamedPorts } from '../decisions/rule-ports.js';
import { piecesKey, type RuleSources } from '../decisions/rule-sources.js';
import type { CompileCache } from './compile-cache.js';
import type { CompileMemo } from './compile-memo.js';
import type { ManagedInterface } from '../../../policy/types.js';
import { contentDigest } from '../../../util/content-digest.js';
import type { Family } from '../../../util/ip/index.js';

/** Source chain of one pod interface's ingress, in one family; shared between equal contents. */
export function ingressPart(
  dst: ManagedInterface,
  family: Family,
  cache: CompileCache | undefined,
  memo: CompileMemo,
): IngressPart {
  const sources = (): RuleSources => {
    const pieces = ingressPieces(memo, dst, family);
    return { pieces, content: `ingress/ipv${family}/${contentDigest(piecesKey(pieces))}` };
  };
  if (!cache) {
    const s = sources();
    return buildIngressChain(family, s.pieces, s.content);
  }
  // Two levels: the allowed sources per set of rule objects (pods selected by the same policies
  // share them; the pod itself matters only for named ports), then the chain per content, so
  // that new rule objects with the same sources keep the same chain object.
  const last = `${dst.key}/ipv${family}`;
  const previous = cache.lastIngress.get(last);
  const rules = dst.ingress.rules;
  const named = anyNamedPorts(memo, rules) ? memo.namedPortsKey(dst.podInfo) : '';
  // The same rule list (and named ports) as last time: the same part, without naming it again
  // (its cache entries are kept for pods that come to share them).
  if (previous && previous.rules === rules && previous.named === named) {
    cache.ingressSources.touch(previous.sourcesName);
    cache.ingress.touch(previous.part.ref);
    return previous.part;
  }
  const sourcesName = `ipv${family}/${rules.map(cache.ids.of).join(',')}${named ? `/${dst.key}` : ''}`;
  const s = cache.ingressSources.get(sourcesName, [...rules, named], sources);
  // The pod's previous source chain lends its address map to the new one (most blocks stay).
  const part = cache.ingress.get(s.content, [], () =>
    buildIngressChain(family, s.pieces, s.content, previous?.part.map),
  );
  cache.lastIngress.set(last, { rules, named, sourcesName, part });
  return part;
}
