// `from` / `to` of one rule: validation into Peer values.
// Fail closed: an invalid peer is dropped whole (dropping only a bad `except` would widen access),
// and a list whose peers are all invalid allows nothing.

import type { Problem } from '../cluster/problem.js';
import { compareCidr, containsCidr, formatCidr, parseCidr, type ParsedCidr } from '../util/ip/index.js';
import { isRecord, type ProblemScope, scopedProblem, show } from './problem-scope.js';
import { compileSelector } from './selector.js';
import type { Peer, PeersSpec, Selector } from './types.js';

function familyName(c: ParsedCidr): string {
  return c.family === 4 ? 'IPv4' : 'IPv6';
}

/** Parses a CIDR field; host bits are cleared with a warning (Kubernetes normalises them too). */
function readCidr(
  raw: unknown,
  at: string,
  scope: ProblemScope,
  problems: Problem[],
): ParsedCidr | undefined {
  const parsed = typeof raw === 'string' ? parseCidr(raw) : undefined;
  if (!parsed) {
    problems.push(scopedProblem(scope, at, `${show(raw)} is not a valid IPv4 or IPv6 CIDR`));
    return undefined;
  }
  if (parsed.hostBitsSet) {
    problems.push({
      ...scopedProblem(scope, at, `${show(raw)} has host bits set`, 'warning'),
      effect: `it is used as ${formatCidr(parsed)}`,
    });
  }
  return parsed;
}

function normalizeIpBlock(raw: unknown, scope: ProblemScope, problems: Problem[]): Peer | undefined {
  if (!isRecord(raw)) {
    problems.push(scopedProblem(scope, 'ipBlock', `must be an object, got ${show(raw)}`));
    return undefined;
  }
  const before = problems.length;
  const cidr = readCidr(raw.cidr, 'ipBlock.cidr', scope, problems);
  const rawExcept = raw.except ?? [];
  const excepts: ParsedCidr[] = [];
  if (!Array.isArray(rawExcept)) {
    problems.push(scopedProblem(scope, 'ipBlock.except', `must be a list, got ${show(rawExcept)}`));
  } else {
    rawExcept.forEach((item: unknown, i) => {
      const at = `ipBlock.except[${i}]`;
      const ex = readCidr(item, at, scope, problems);
      if (!ex || !cidr) return;
      if (ex.family !== cidr.family) {
        problems.push(
          scopedProblem(scope, at, `${show(item)} is ${familyName(ex)} but cidr is ${familyName(cidr)}`),
        );
      } else if (!(ex.prefix > cidr.prefix && containsCidr(cidr, ex))) {
        problems.push(
          scopedProblem(scope, at, `${show(item)} is not strictly inside cidr ${formatCidr(cidr)}`),
        );
      } else {
        excepts.push(ex);
      }
    });
  }
  const hasErrors = problems.slice(before).some((p) => p.severity === 'error');
  if (!cidr || hasErrors) return undefined;
  const exceptTexts = [...new Set(excepts.sort(compareCidr).map(formatCidr))];
  return { kind: 'ipBlock', cidr: formatCidr(cidr), except: exceptTexts };
}

function normalizePeer(raw: unknown, scope: ProblemScope, problems: Problem[]): Peer | undefined {
  if (!isRecord(raw)) {
    problems.push(scopedProblem(scope, '', `peer must be an object, got ${show(raw)}`));
    return undefined;
  }
  // null counts as absent, as for any optional field of the Kubernetes API.
  const ipBlock = raw.ipBlock ?? undefined;
  const podSel = raw.podSelector ?? undefined;
  const nsSel = raw.namespaceSelector ?? undefined;
  if (ipBlock === undefined && podSel === undefined && nsSel === undefined) {
    problems.push(scopedProblem(scope, '', 'peer sets none of ipBlock, podSelector, namespaceSelector'));
    return undefined;
  }
  if (ipBlock !== undefined) {
    if (podSel !== undefined || nsSel !== undefined) {
      // The API says ipBlock excludes the selectors; guessing which one was meant could widen access.
      problems.push(scopedProblem(scope, '', 'peer sets ipBlock together with a selector'));
      return undefined;
    }
    return normalizeIpBlock(ipBlock, scope, problems);
  }
  let podSelector: Selector | undefined;
  let namespaceSelector: Selector | undefined;
  let valid = true;
  if (podSel !== undefined) {
    const compiled = compileSelector(podSel, { ...scope, path: `${scope.path}.podSelector` });
    problems.push(...compiled.problems);
    podSelector = compiled.selector;
    valid &&= podSelector !== undefined;
  }
  if (nsSel !== undefined) {
    const compiled = compileSelector(nsSel, { ...scope, path: `${scope.path}.namespaceSelector` });
    problems.push(...compiled.problems);
    namespaceSelector = compiled.selector;
    valid &&= namespaceSelector !== undefined;
  }
  if (!valid) return undefined;
  const peer: Peer = { kind: 'selector' };
  if (podSelector) peer.podSelector = podSelector;
  if (namespaceSelector) peer.namespaceSelector = namespaceSelector;
  return peer;
}

/**
 * Normalises `from` (ingress) or `to` (egress) of a rule. Absent, null or [] means every peer.
 * `scope.path` is the rule's path; `field` is "from" or "to".
 */
export function normalizePeers(
  raw: unknown,
  field: 'from' | 'to',
  scope: ProblemScope,
  problems: Problem[],
): PeersSpec {
  if (raw === undefined || raw === null) return { kind: 'all' };
  const ruleScope = { ...scope, effect: 'this rule allows nothing' };
  if (!Array.isArray(raw)) {
    problems.push(scopedProblem(ruleScope, field, `must be a list, got ${show(raw)}`));
    return { kind: 'list', peers: [] };
  }
  if (raw.length === 0) return { kind: 'all' };
  const peers: Peer[] = [];
  raw.forEach((item: unknown, i) => {
    const peerScope = { ...scope, path: `${scope.path}.${field}[${i}]`, effect: 'this peer allows nothing' };
    const peer = normalizePeer(item, peerScope, problems);
    if (peer) peers.push(peer);
  });
  if (peers.length === 0) problems.push(scopedProblem(ruleScope, field, 'no peer is valid'));
  return { kind: 'list', peers };
}
