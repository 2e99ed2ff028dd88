// A Kubernetes API server stand-in that speaks the list/watch wire protocol the agent and the
// client library use, over plain http on 127.0.0.1 (a random port):
// - LIST: `XList` kinds with metadata.resourceVersion, items without kind/apiVersion (as the API
//   server sends them), `limit`/`continue` paging;
// - WATCH (`?watch=true`): a chunked stream of JSON lines, ADDED/MODIFIED/DELETED/BOOKMARK, from
//   the requested resourceVersion, ended after `timeoutSeconds`;
// - faults: 410 Gone as an HTTP status, as an ERROR event at the start, or in the middle of an
//   open stream; streams closed or stalled (kept open, silent); 403 per resource and verb; slow
//   LISTs; the whole server down and back on the same port;
// - events.k8s.io/v1 Events: POST (409 when the name exists), GET, merge PATCH, all recorded.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type Obj = Record<string, unknown>;

export interface ResourceDef {
  path: string;
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}

export const RESOURCE_DEFS: Record<string, ResourceDef> = {
  Pod: { path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod', namespaced: true },
  Namespace: { path: '/api/v1/namespaces', apiVersion: 'v1', kind: 'Namespace', namespaced: false },
  Node: { path: '/api/v1/nodes', apiVersion: 'v1', kind: 'Node', namespaced: false },
  MultiNetworkPolicy: {
    path: '/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies',
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    namespaced: true,
  },
  NetworkAttachmentDefinition: {
    path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    namespaced: true,
  },
};

const EVENTS = /^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/;

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: Obj;
}

interface Watcher {
  kind: string;
  res: ServerResponse;
  stalled: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
}

type Verb = 'list' | 'watch';

function status(code: number, reason: string, message: string): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function metaOf(o: Obj): Obj {
  o.metadata ??= {};
  return o.metadata as Obj;
}

function keyOf(o: Obj): string {
  const m = metaOf(o);
  return `${typeof m.namespace === 'string' ? m.namespace : ''}/${String(m.name)}`;
}

function mergePatch(target: Obj, patch: Obj): Obj {
  const out: Obj = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null)
      out[k] = mergePatch(out[k] as Obj, v as Obj);
    else out[k] = v;
  }
  return out;
}

export class KubeTestServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private rv = 100;
  private readonly stores = new Map<string, Map<string, Obj>>();
  private readonly history = new Map<string, WatchEvent[]>();
  /** Watches from a resourceVersion below this get 410 Gone. */
  private readonly compactedBelow = new Map<string, number>();
  private readonly watchers = new Set<Watcher>();
  private readonly forbidden = new Map<string, Set<Verb>>();
  private readonly listDelay = new Map<string, number>();
  private readonly nextWatchGone = new Map<string, 'http' | 'event'>();
  private readonly stallNew = new Set<string>();
  port = 0;
  readonly requests: RecordedRequest[] = [];
  /** Stored Events by "namespace/name", and every Event write in order. */
  readonly events = new Map<string, Obj>();
  readonly eventWrites: { method: string; body: Obj }[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => this.serve(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const addr = server.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
    return this;
  }

  /** The server goes away: listening socket and every connection closed. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Back on the same port. */
  async up(): Promise<void> {
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    await this.down();
  }

  // --- state --------------------------------------------------------------------------------

  private store(kind: string): Map<string, Obj> {
    let s = this.stores.get(kind);
    if (!s) this.stores.set(kind, (s = new Map()));
    return s;
  }

  /** Objects of one kind, as stored (with kind, apiVersion and resourceVersion). */
  list(kind: string): Obj[] {
    return [...this.store(kind).values()];
  }

  get(kind: string, namespace: string, name: string): Obj | undefined {
    return this.store(kind).get(`${namespace}/${name}`);
  }

  /** Adds or replaces objects (each with kind); a watch sees ADDED or MODIFIED. */
  apply(...objects: Obj[]): void {
    for (const o of objects) {
      const kind = String(o.kind);
      const copy = structuredClone(o);
      const meta = metaOf(copy);
      meta.resourceVersion = String(++this.rv);
      meta.uid ??= `uid-${kind.toLowerCase()}-${keyOf(copy).replace(/\//g, '-')}`;
      const s = this.store(kind);
      const type = s.has(keyOf(copy)) ? 'MODIFIED' : 'ADDED';
      s.set(keyOf(copy), copy);
      this.emit(kind, { rv: this.rv, type, obj: copy });
    }
  }

  /** Changes the labels of a stored object. */
  setLabels(kind: string, namespace: string, name: string, labels: Record<string, string>): void {
    const o = this.get(kind, namespace, name);
    if (!o) throw new Error(`no ${kind} ${namespace}/${name}`);
    const copy = structuredClone(o);
    metaOf(copy).labels = labels;
    this.apply(copy);
  }

  remove(kind: string, namespace: string, name: string): void {
    const s = this.store(kind);
    const o = s.get(`${namespace}/${name}`);
    if (!o) return;
    s.delete(`${namespace}/${name}`);
    const gone = structuredClone(o);
    metaOf(gone).resourceVersion = String(++this.rv);
    this.emit(kind, { rv: this.rv, type: 'DELETED', obj: gone });
  }

  private emit(kind: string, e: WatchEvent): void {
    let h = this.history.get(kind);
    if (!h) this.history.set(kind, (h = []));
    h.push(e);
    for (const w of this.watchers) if (w.kind === kind && !w.stalled) this.send(w.res, e.type, e.obj);
  }

  private send(res: ServerResponse, type: string, obj: Obj): void {
    res.write(JSON.stringify({ type, object: obj }) + '\n');
  }

  // --- faults -------------------------------------------------------------------------------

  forbid(kind: string, ...verbs: Verb[]): void {
    this.forbidden.set(kind, new Set(verbs.length > 0 ? verbs : ['list', 'watch']));
  }

  allow(kind: string): void {
    this.forbidden.delete(kind);
  }

  slowList(kind: string, ms: number): void {
    this.listDelay.set(kind, ms);
  }

  /** The next WATCH of `kind` gets 410 Gone as an HTTP status or as an ERROR event. */
  goneOnNextWatch(kind: string, form: 'http' | 'event'): void {
    this.nextWatchGone.set(kind, form);
  }

  /** Open watches of `kind` get an ERROR 410 event in the middle of their stream. */
  goneInStream(kind: string): void {
    for (const w of this.watchers)
      if (w.kind === kind) this.send(w.res, 'ERROR', status(410, 'Expired', 'too old resource version'));
  }

  /** Watches from a resourceVersion older than the current one get 410 from now on. */
  compact(kind: string): void {
    this.compactedBelow.set(kind, this.rv);
  }

  /** Open watches of `kind` end (the server's timeout, a restart). */
  closeWatches(kind: string): void {
    for (const w of [...this.watchers]) {
      if (w.kind !== kind) continue;
      this.watchers.delete(w);
      w.res.end();
    }
  }

  /** Open watches of `kind` stay open but deliver nothing more, not even bookmarks. */
  stallWatches(kind: string, alsoNew = false): void {
    for (const w of this.watchers) if (w.kind === kind) w.stalled = true;
    if (alsoNew) this.stallNew.add(kind);
  }

  unstall(kind: string): void {
    this.stallNew.delete(kind);
  }

  /** A BOOKMARK with the current resourceVersion on every open watch of `kind`. */
  bookmark(kind: string): void {
    const def = RESOURCE_DEFS[kind]!;
    for (const w of this.watchers)
      if (w.kind === kind && !w.stalled)
        this.send(w.res, 'BOOKMARK', {
          kind: def.kind,
          apiVersion: def.apiVersion,
          metadata: { resourceVersion: String(this.rv) },
        });
  }

  openWatches(kind: string): number {
    return [...this.watchers].filter((w) => w.kind === kind).length;
  }

  /** Requests of one kind and verb so far. */
  requestsOf(kind: string, verb: Verb): RecordedRequest[] {
    const path = RESOURCE_DEFS[kind]!.path;
    return this.requests.filter((r) => r.path === path && (r.query.watch === 'true') === (verb === 'watch'));
  }

  // --- serving ------------------------------------------------------------------------------

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      authorization: req.headers.authorization,
    });
    const json = (code: number, body: Obj) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const ev = EVENTS.exec(url.pathname);
    if (ev) {
      this.serveEvent(req, ev[1]!, ev[2], json);
      return;
    }
    const def = Object.values(RESOURCE_DEFS).find((d) => d.path === url.pathname);
    if (!def || req.method !== 'GET') {
      json(404, status(404, 'NotFound', `the server could not find the requested resource`));
      return;
    }
    const watch = query.watch === 'true' || query.watch === '1';
    const verb: Verb = watch ? 'watch' : 'list';
    if (this.forbidden.get(def.kind)?.has(verb)) {
      const plural = def.path.split('/').pop();
      json(
        403,
        status(
          403,
          'Forbidden',
          `${plural} is forbidden: User "system:serviceaccount:kube-system:agent" cannot ${verb} resource "${plural}" at the cluster scope`,
        ),
      );
      return;
    }
    if (watch) this.serveWatch(def, query, res, json);
    else {
      const delay = this.listDelay.get(def.kind) ?? 0;
      const answer = () => {
        if (!res.destroyed) this.serveList(def, query, json);
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    }
  }

  private serveList(
    def: ResourceDef,
    query: Record<string, string>,
    json: (c: number, b: Obj) => void,
  ): void {
    const all = [...this.store(def.kind).values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    const limit = query.limit ? Number(query.limit) : all.length;
    let from = 0;
    let rv = this.rv;
    if (query.continue) {
      const c = JSON.parse(Buffer.from(query.continue, 'base64').toString('utf8')) as {
        rv: number;
        from: number;
      };
      from = c.from;
      rv = c.rv;
    }
    const page = all.slice(from, from + limit);
    const next =
      from + limit < all.length
        ? Buffer.from(JSON.stringify({ rv, from: from + limit })).toString('base64')
        : undefined;
    const items = page.map((o) => {
      const { kind: _k, apiVersion: _a, ...rest } = o;
      return rest;
    });
    json(200, {
      kind: `${def.kind}List`,
      apiVersion: def.apiVersion,
      metadata: { resourceVersion: String(rv), ...(next ? { continue: next } : {}) },
      items,
    });
  }

  private serveWatch(
    def: ResourceDef,
    query: Record<string, string>,
    res: ServerResponse,
    json: (c: number, b: Obj) => void,
  ): void {
    const gone = this.nextWatchGone.get(def.kind);
    this.nextWatchGone.delete(def.kind);
    if (gone === 'http') {
      json(410, status(410, 'Expired', 'too old resource version'));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const from = Number(query.resourceVersion || this.rv);
    if (gone === 'event' || from < (this.compactedBelow.get(def.kind) ?? 0)) {
      this.send(res, 'ERROR', status(410, 'Expired', `too old resource version: ${from}`));
      res.end();
      return;
    }
    const w: Watcher = { kind: def.kind, res, stalled: this.stallNew.has(def.kind) };
    if (!w.stalled)
      for (const e of this.history.get(def.kind) ?? []) if (e.rv > from) this.send(res, e.type, e.obj);
    this.watchers.add(w);
    const timeout = Number(query.timeoutSeconds ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(w);
    });
  }

  private serveEvent(
    req: IncomingMessage,
    namespace: string,
    name: string | undefined,
    json: (c: number, b: Obj) => void,
  ): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as Obj) : {};
      const method = req.method ?? 'GET';
      if (method === 'POST' && !name) {
        this.eventWrites.push({ method, body });
        const key = `${namespace}/${String(metaOf(body).name)}`;
        if (this.events.has(key)) {
          json(409, status(409, 'AlreadyExists', `events "${String(metaOf(body).name)}" already exists`));
          return;
        }
        this.events.set(key, body);
        json(201, body);
        return;
      }
      const key = `${namespace}/${name ?? ''}`;
      const stored = this.events.get(key);
      if (!stored) {
        json(404, status(404, 'NotFound', `events "${name ?? ''}" not found`));
        return;
      }
      if (method === 'GET') json(200, stored);
      else if (method === 'PATCH') {
        this.eventWrites.push({ method, body });
        const next = mergePatch(stored, body);
        this.events.set(key, next);
        json(200, next);
      } else json(405, status(405, 'MethodNotAllowed', 'method not allowed'));
    });
  }
}
