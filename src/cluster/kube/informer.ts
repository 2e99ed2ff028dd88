// A small informer for one kind: LIST (paged) into a cache of slim records, then WATCH from the
// list's resourceVersion.
//
// What it guarantees the agent:
// - `synced` turns true only after a complete, successful LIST. A failed LIST is retried with
//   exponential backoff and jitter up to a cap; the cache is replaced only by a complete LIST, so
//   after the first sync any failure keeps the last good cache.
// - Watches ask for bookmarks and a server-side timeout randomized between 5 and 10 minutes (as
//   client-go). A watch that delivers nothing, no event and no bookmark, for `stallMs` (default
//   90 s: the API server sends a bookmark about every minute) is restarted from the last
//   resourceVersion, so a change made during the silence arrives at most `stallMs` late.
// - 410 Gone (HTTP status, ERROR event, or in the middle of a stream) re-lists.
// - An unchanged object stays the same JS value (a re-list keeps the records whose
//   resourceVersion did not change): the snapshot builder recognises unchanged objects by identity.

import { ApiError, apiRequest } from './api-request.js';
import { Backoff } from './backoff.js';
import { slimObject } from './slim.js';
import type { ClientConfig } from './client-config.js';
import { openWatch } from './watch-stream.js';
import { cpuMs } from './cpu-time.js';
import { errorText, log } from '../../util/log.js';

export interface ResourceKind {
  kind: string;
  apiVersion: string;
  /** Cluster-wide collection path, e.g. /api/v1/pods. */
  path: string;
}

export interface InformerTiming {
  /** Restart a watch silent for this long (default 90 s). */
  stallMs: number;
  /** First LIST retry delay and cap (default 1 s, 30 s). */
  listRetryMs: number;
  listRetryCapMs: number;
  /** Items per LIST page (default 500, as client-go). */
  pageSize: number;
  /** A LIST page that does not answer in this time fails (default 60 s). */
  listTimeoutMs: number;
  /** Server-side watch timeout in seconds; default random in [300, 600). */
  watchTimeoutSeconds: () => number;
}

export const DEFAULT_TIMING: InformerTiming = {
  stallMs: 90_000,
  listRetryMs: 1000,
  listRetryCapMs: 30_000,
  pageSize: 500,
  listTimeoutMs: 60_000,
  watchTimeoutSeconds: () => 300 + Math.floor(Math.random() * 300),
};

export type Record_ = Record<string, unknown>;

interface ListAnswer {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export interface InformerEvents {
  /** An object changed ("MODIFIED Pod app/web-1"), or a re-list changed the cache ("relisted Pod"). */
  change(what: string): void;
  /** Counters for the metrics. */
  relist?(kind: string): void;
  /** The records of one LIST page, as soon as it arrives (to read them before the sync). */
  page?(records: Record_[]): void;
  watchRestart?(kind: string, why: string): void;
}

function metaOf(o: Record_): { name: string; namespace: string; resourceVersion: string } {
  const m = (o.metadata ?? {}) as Record<string, unknown>;
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  return { name: s(m.name), namespace: s(m.namespace), resourceVersion: s(m.resourceVersion) };
}

function keyOf(o: Record_): string {
  const m = metaOf(o);
  return `${m.namespace}/${m.name}`;
}

export class Informer {
  /** Slim records by "namespace/name" (cluster-scoped: "/name"). */
  private cache = new Map<string, Record_>();
  private rv = '';
  private stopped = false;
  private hasSynced = false;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Each watch has a number; callbacks of a replaced watch are ignored. */
  private watchId = 0;
  private controller: AbortController | undefined;
  private listAbort: AbortController | undefined;
  /** The error text of the failing LIST, logged once per state change. */
  private listError: string | undefined;

  constructor(
    private readonly kc: ClientConfig,
    readonly resource: ResourceKind,
    private readonly events: InformerEvents,
    private readonly timing: InformerTiming = DEFAULT_TIMING,
  ) {
    this.backoff = new Backoff(timing.listRetryMs, timing.listRetryCapMs);
  }

  get kind(): string {
    return this.resource.kind;
  }

  /** True once a LIST has completed; stays true (the cache is kept through later failures). */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** Why it has not synced yet, for the readiness message. */
  get lastListError(): string | undefined {
    return this.listError;
  }

  get size(): number {
    return this.cache.size;
  }

  /** The cached records, in a stable order (insertion; a re-list keeps the list's order). */
  objects(): Record_[] {
    return [...this.cache.values()];
  }

  get(namespace: string, name: string): Record_ | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  start(): void {
    this.later(0, () => void this.list());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.clearStall();
    this.watchId++;
    this.controller?.abort();
    this.listAbort?.abort();
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) fn();
    }, ms);
  }

  private async list(): Promise<void> {
    if (this.stopped) return;
    this.watchId++;
    this.clearStall();
    this.controller?.abort();
    const abort = new AbortController();
    this.listAbort = abort;
    try {
      const fresh = new Map<string, Record_>();
      let rv = '';
      let cont: string | undefined;
      do {
        const page = await apiRequest<ListAnswer>(this.kc, {
          method: 'GET',
          path: this.resource.path,
          query: { limit: this.timing.pageSize, continue: cont },
          signal: abort.signal,
          timeoutMs: this.timing.listTimeoutMs,
        });
        if (this.stopped) return;
        const records: Record_[] = [];
        for (const item of page.items ?? []) records.push(this.keep(fresh, item));
        this.events.page?.(records);
        rv = page.metadata?.resourceVersion ?? '';
        cont = page.metadata?.continue || undefined;
      } while (cont);
      const changed = this.replaceCache(fresh);
      this.rv = rv;
      this.backoff.reset();
      if (this.listError !== undefined || !this.hasSynced) {
        log.info(`listed ${this.kind}: ${fresh.size} object(s)`, 0, {
          kind: this.kind,
          objects: fresh.size,
          cpuMs: cpuMs(),
        });
      }
      this.listError = undefined;
      const first = !this.hasSynced;
      this.hasSynced = true;
      this.events.relist?.(this.kind);
      if (changed || first) this.events.change(`relisted ${this.kind}`);
      this.watch();
    } catch (e) {
      if (this.stopped) return;
      const text = errorText(e);
      if (text !== this.listError) {
        const keeping = this.hasSynced
          ? 'keeping the last good cache'
          : 'nothing is applied until it succeeds';
        log.error(`LIST of ${this.kind} failed: ${text}; retrying with backoff, ${keeping}`, {
          kind: this.kind,
          status: e instanceof ApiError ? e.status : undefined,
        });
      }
      this.listError = text;
      this.later(this.backoff.delay(), () => void this.list());
    }
  }

  /** The slim record of an item, the cached one when the item did not change. */
  private keep(into: Map<string, Record_>, item: unknown): Record_ {
    const raw = (item ?? {}) as Record_;
    const key = keyOf(raw);
    const old = this.cache.get(key);
    const rv = metaOf(raw).resourceVersion;
    const rec = old && rv !== '' && metaOf(old).resourceVersion === rv ? old : this.slim(raw);
    into.set(key, rec);
    return rec;
  }

  private slim(raw: Record_): Record_ {
    return slimObject(raw, this.resource.apiVersion, this.resource.kind);
  }

  private replaceCache(fresh: Map<string, Record_>): boolean {
    let changed = fresh.size !== this.cache.size;
    if (!changed) for (const [k, v] of fresh) if (this.cache.get(k) !== v) changed = true;
    this.cache = fresh;
    return changed;
  }

  private clearStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private armStall(id: number): void {
    this.clearStall();
    if (this.stopped) return;
    this.stallTimer = setTimeout(() => {
      if (id !== this.watchId || this.stopped) return;
      log.warn(`watch of ${this.kind} silent for ${this.timing.stallMs} ms; restarting it`, {
        kind: this.kind,
      });
      this.events.watchRestart?.(this.kind, 'stalled');
      this.watch();
    }, this.timing.stallMs);
  }

  private watch(): void {
    if (this.stopped) return;
    const id = ++this.watchId;
    this.controller?.abort();
    this.controller = undefined;
    const started = Date.now();
    this.armStall(id);
    const onEvent = (type: string, obj: unknown): void => {
      if (id !== this.watchId || this.stopped) return;
      this.armStall(id);
      this.handle(type, (obj ?? {}) as Record_);
    };
    const onDone = (err: ApiError | null): void => {
      if (id !== this.watchId || this.stopped) return;
      this.watchId++;
      this.clearStall();
      if (err?.status === 410) {
        log.info(`watch of ${this.kind}: 410 Gone; re-listing`, 0, { kind: this.kind });
        this.later(0, () => void this.list());
      } else if (err) {
        log.warn(`watch of ${this.kind} failed: ${errorText(err)}; re-listing with backoff`, {
          kind: this.kind,
        });
        this.events.watchRestart?.(this.kind, 'error');
        this.later(this.backoff.delay(), () => void this.list());
      } else {
        // The server closed the stream (its timeout, a restart): watch again from where it was. A
        // stream closed at once each time would loop: wait as after an error.
        this.events.watchRestart?.(this.kind, 'closed');
        this.later(Date.now() - started < 1000 ? this.backoff.delay() : 0, () => this.watch());
      }
    };
    const query = {
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds: this.timing.watchTimeoutSeconds(),
    };
    this.controller = openWatch(this.kc, this.resource.path, query, onEvent, onDone);
  }

  private handle(type: string, obj: Record_): void {
    const m = metaOf(obj);
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const rec = this.slim(obj);
        this.cache.set(`${m.namespace}/${m.name}`, rec);
        this.rv = m.resourceVersion || this.rv;
        this.events.change(`${type} ${this.describe(m)}`);
        break;
      }
      case 'DELETED':
        this.cache.delete(`${m.namespace}/${m.name}`);
        this.rv = m.resourceVersion || this.rv;
        this.events.change(`${type} ${this.describe(m)}`);
        break;
      case 'BOOKMARK':
        this.rv = m.resourceVersion || this.rv;
        break;
      case 'ERROR': {
        const s = obj as WatchStatus;
        this.watchId++;
        this.clearStall();
        this.controller?.abort();
        if (s.code === 410) {
          log.info(`watch of ${this.kind}: 410 Gone (${s.message ?? 'expired'}); re-listing`, 0, {
            kind: this.kind,
          });
          this.later(0, () => void this.list());
        } else {
          log.warn(
            `watch of ${this.kind}: error ${s.code ?? '?'} ${s.message ?? ''}; re-listing with backoff`,
          );
          this.events.watchRestart?.(this.kind, 'error');
          this.later(this.backoff.delay(), () => void this.list());
        }
        break;
      }
    }
  }

  private describe(m: { name: string; namespace: string }): string {
    return `${this.kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name}`;
  }
}
