// Label sets as selectors see them, with each selector's answer remembered. Policies repeat
// selectors and pods repeat label sets, so the model build asks each question once per distinct
// pair; the rule resolver (resolve-rule.ts) and the incremental update ask through the same views.

import { selectorMatches } from './selector.js';
import type { Selector } from './types.js';

/**
 * A label set as selectors see it, shared by every label set they cannot tell apart, with each
 * selector's answer remembered: many pods (and every interface of one pod) look alike.
 */
export class LabelView {
  private readonly answers = new Map<Selector, boolean>();

  /** `labels`: any one of the label sets this view stands for. */
  constructor(private readonly labels: Record<string, string>) {}

  matches(sel: Selector): boolean {
    let answer = this.answers.get(sel);
    if (answer === undefined) this.answers.set(sel, (answer = selectorMatches(sel, this.labels)));
    return answer;
  }
}

/** One view per namespace: namespaceSelectors read the namespace's whole label set. */
export function namespaceViews(labels: ReadonlyMap<string, Record<string, string>>): Map<string, LabelView> {
  const out = new Map<string, LabelView>();
  for (const [ns, set] of labels) out.set(ns, new LabelView(set));
  return out;
}

/**
 * Pod label sets -> shared views. Two sets share a view when they agree on `keys` (absent or
 * value; own properties only, as selectorMatches reads them): every selector that reads only
 * those keys answers both alike.
 */
export function podLabelViews(keys: string[]): (labels: Record<string, string>) => LabelView {
  const byText = new Map<string, LabelView>();
  // A pod's interfaces share its labels object: look each object up once.
  const byObject = new Map<Record<string, string>, LabelView>();
  return (labels) => {
    let view = byObject.get(labels);
    if (view) return view;
    const text = JSON.stringify(keys.map((k) => (Object.hasOwn(labels, k) ? labels[k] : null)));
    view = byText.get(text);
    if (!view) byText.set(text, (view = new LabelView(labels)));
    byObject.set(labels, view);
    return view;
  };
}

/** Selectors -> one shared object per distinct content (see selectorPool). */
export type SelectorPool = (sel: Selector) => Selector;

/**
 * Selectors -> one shared object per distinct content. Policies repeat selectors (`app: db` in
 * many of them), and LabelView remembers answers per selector object.
 */
export function selectorPool(): SelectorPool {
  const byText = new Map<string, Selector>();
  return (sel) => {
    const text = JSON.stringify(sel);
    let shared = byText.get(text);
    if (!shared) byText.set(text, (shared = sel));
    return shared;
  };
}
