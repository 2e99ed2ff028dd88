// Label selectors: validation of the raw form and Kubernetes matching semantics.
// Upstream only understood matchLabels and single-value In and skipped the rest (fail open for a
// policy's own podSelector); here every operator is supported and anything invalid is reported.

import type { Problem } from '../cluster/problem.js';
import { isRecord, type ProblemScope, scopedProblem, show } from './problem-scope.js';
import type { Selector } from './types.js';

type Operator = Selector['matchExpressions'][number]['operator'];
const OPERATORS: readonly Operator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key (`[prefix/]name`), or undefined when it is. */
export function labelKeyError(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return `label key ${show(key)} has more than one "/"`;
  const name = parts[parts.length - 1] as string;
  if (parts.length === 2) {
    const prefix = parts[0] as string;
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `label key prefix ${show(prefix)} is not a DNS subdomain (lower-case, at most 253 characters)`;
    }
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
    return `label key name ${show(name)} must be 1-63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is (empty is valid). */
export function labelValueError(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value)) {
    return `label value ${show(value)} must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric`;
  }
  return undefined;
}

/** The selector `{}`: matches everything. */
export function matchAllSelector(): Selector {
  return { matchLabels: {}, matchExpressions: [] };
}

export interface CompiledSelector {
  /** Undefined when the raw selector is invalid (see problems). */
  selector?: Selector;
  problems: Problem[];
}

/**
 * Validates a raw LabelSelector. `scope.path` is the selector's own field path; `null` fields
 * count as absent, as in the Kubernetes API. Any problem invalidates the whole selector.
 */
export function compileSelector(raw: unknown, scope: ProblemScope): CompiledSelector {
  const problems: Problem[] = [];
  if (!isRecord(raw)) {
    problems.push(scopedProblem(scope, '', `selector must be an object, got ${show(raw)}`));
    return { problems };
  }
  const matchLabels: Record<string, string> = {};
  const rawLabels = raw.matchLabels;
  if (rawLabels !== undefined && rawLabels !== null) {
    if (!isRecord(rawLabels)) {
      problems.push(scopedProblem(scope, 'matchLabels', `must be a map of strings, got ${show(rawLabels)}`));
    } else {
      for (const key of Object.keys(rawLabels).sort()) {
        const value = rawLabels[key];
        const at = `matchLabels[${JSON.stringify(key)}]`;
        const keyErr = labelKeyError(key);
        if (keyErr) problems.push(scopedProblem(scope, at, keyErr));
        if (typeof value !== 'string') {
          problems.push(scopedProblem(scope, at, `value must be a string, got ${show(value)}`));
          continue;
        }
        const valueErr = labelValueError(value);
        if (valueErr) problems.push(scopedProblem(scope, at, valueErr));
        matchLabels[key] = value;
      }
    }
  }
  const matchExpressions: Selector['matchExpressions'] = [];
  const rawExprs = raw.matchExpressions;
  if (rawExprs !== undefined && rawExprs !== null) {
    if (!Array.isArray(rawExprs)) {
      problems.push(scopedProblem(scope, 'matchExpressions', `must be a list, got ${show(rawExprs)}`));
    } else {
      rawExprs.forEach((expr: unknown, i) => {
        const compiled = compileRequirement(expr, `matchExpressions[${i}]`, scope, problems);
        if (compiled) matchExpressions.push(compiled);
      });
    }
  }
  if (problems.length > 0) return { problems };
  return { selector: { matchLabels, matchExpressions }, problems };
}

function compileRequirement(
  raw: unknown,
  at: string,
  scope: ProblemScope,
  problems: Problem[],
): Selector['matchExpressions'][number] | undefined {
  if (!isRecord(raw)) {
    problems.push(scopedProblem(scope, at, `requirement must be an object, got ${show(raw)}`));
    return undefined;
  }
  const before = problems.length;
  const { key, operator } = raw;
  if (typeof key !== 'string') {
    problems.push(scopedProblem(scope, `${at}.key`, `must be a string, got ${show(key)}`));
  } else {
    const keyErr = labelKeyError(key);
    if (keyErr) problems.push(scopedProblem(scope, `${at}.key`, keyErr));
  }
  // Operators are case-sensitive in Kubernetes; "in" is not "In".
  const op = OPERATORS.find((o) => o === operator);
  if (!op) {
    problems.push(
      scopedProblem(
        scope,
        `${at}.operator`,
        `unknown operator ${show(operator)} (In, NotIn, Exists, DoesNotExist)`,
      ),
    );
  }
  const rawValues = raw.values ?? [];
  const values: string[] = [];
  if (!Array.isArray(rawValues)) {
    problems.push(scopedProblem(scope, `${at}.values`, `must be a list, got ${show(rawValues)}`));
  } else {
    rawValues.forEach((v: unknown, i) => {
      if (typeof v !== 'string') {
        problems.push(scopedProblem(scope, `${at}.values[${i}]`, `must be a string, got ${show(v)}`));
        return;
      }
      const err = labelValueError(v);
      if (err) problems.push(scopedProblem(scope, `${at}.values[${i}]`, err));
      values.push(v);
    });
    if ((op === 'In' || op === 'NotIn') && rawValues.length === 0) {
      problems.push(scopedProblem(scope, `${at}.values`, `operator ${op} needs at least one value`));
    }
    if ((op === 'Exists' || op === 'DoesNotExist') && rawValues.length > 0) {
      problems.push(scopedProblem(scope, `${at}.values`, `operator ${op} takes no values`));
    }
  }
  if (problems.length > before || !op || typeof key !== 'string') return undefined;
  return { key, operator: op, values: [...new Set(values)].sort() };
}

/** Kubernetes semantics: every matchLabels pair and every expression must hold; `{}` matches all. */
export function selectorMatches(sel: Selector, labels: Record<string, string>): boolean {
  // Own properties only: a label map is a plain object, and "constructor" must not match its prototype.
  const get = (key: string): string | undefined => (Object.hasOwn(labels, key) ? labels[key] : undefined);
  for (const [key, value] of Object.entries(sel.matchLabels)) {
    if (get(key) !== value) return false;
  }
  for (const expr of sel.matchExpressions) {
    const value = get(expr.key);
    const present = value !== undefined;
    switch (expr.operator) {
      case 'In':
        if (!present || !expr.values.includes(value)) return false;
        break;
      case 'NotIn':
        // An absent key satisfies NotIn.
        if (present && expr.values.includes(value)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}
