// The types of library-config.js: the build's copy of the client library's dist/config.js, its
// generated API left out (hack/copy-kube-config.js writes it next to the compiled files).
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
