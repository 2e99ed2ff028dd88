// A module resolve hook (node:module register/registerHooks) with one rule: when the client
// library's dist/config.js imports './gen/index.js', it gets client-library-gen.js instead. Every
// other import resolves as usual. The library's own code (KubeConfig, Watch) still does all the
// work; only its unused generated API clients and models are not loaded (see load-kube-source.ts).

export interface ResolveContext {
  parentURL?: string | undefined;
}

export interface Resolved {
  url: string;
  shortCircuit?: boolean;
}

type NextResolve<T> = (specifier: string, context?: ResolveContext) => T;

const LIBRARY_CONFIG = '/node_modules/@kubernetes/client-node/dist/config.js';

/** The replacement URL for `specifier` imported from `parentURL`, or undefined: resolve as usual. */
export function replacementOf(specifier: string, parentURL: string | undefined): string | undefined {
  if (specifier !== './gen/index.js' || !parentURL) return undefined;
  if (!new URL(parentURL).pathname.endsWith(LIBRARY_CONFIG)) return undefined;
  return new URL('./client-library-gen.js', import.meta.url).href;
}

// Synchronous when the next hook is (registerHooks), a promise when it is (register).
export function resolve<T>(specifier: string, context: ResolveContext, next: NextResolve<T>): T | Resolved {
  const url = replacementOf(specifier, context.parentURL);
  return url ? { url, shortCircuit: true } : next(specifier, context);
}
