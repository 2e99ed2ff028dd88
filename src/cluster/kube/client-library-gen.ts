// What the client library's KubeConfig (dist/config.js) imports from its generated REST API
// (dist/gen/index.js), and nothing more: hack/copy-kube-config.js points that one import here.
// The generated index also loads every API group's client and the ~2,500 model classes, about
// 45 MiB of RSS and 0.5 s at start that the agent never uses (it only needs KubeConfig and Watch).
// KubeConfig uses these two only in makeApiClient. A test checks that this list still matches
// what the installed library's config.js imports.

export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
