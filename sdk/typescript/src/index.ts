// The Gatehouse TypeScript SDK: every route typed from the OpenAPI
// document (generated at build time into schema.ts by openapi-typescript,
// called through openapi-fetch), and a thin layer for what a host does on
// every request: decisions with sessions, retries, read-your-writes, and
// filter → SQL.

import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export { filterToSQL, type Columns, type CondExpr, type Dialect, type Filter, type SQLWhere } from "./sql.js";

/** Every schema of the API by name, e.g. `Schemas["Role"]`. */
export type Schemas = components["schemas"];
export type CheckRequest = Schemas["CheckRequest"];
export type Check = Schemas["Check"];
export type BatchRequest = Schemas["BatchRequest"];
export type Batch = Schemas["Batch"];
export type CheckResourcesRequest = Schemas["CheckResourcesRequest"];
export type CheckResources = Schemas["CheckResources"];
export type FilterRequest = Schemas["FilterRequest"];
export type Session = Schemas["Session"];
export type ErrorCode = Schemas["ErrorCode"];
export type ErrorDetails = Schemas["ErrorDetails"];

/** An error answer of the API, with its stable code (DESIGN §3). */
export class GatehouseError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | string,
    message: string,
    readonly details: ErrorDetails = {},
    /** Seconds the server asked to wait (429, 503), if it said. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "GatehouseError";
  }
}

export interface Options {
  /** The server, e.g. http://127.0.0.1:8470. */
  baseUrl: string;
  /** A workspace API key, or the deployment admin key. */
  key: string;
  /** The acting member (Gatehouse-Actor, X3) of every call. */
  actor?: string;
  /**
   * Read your writes (D8): decisions carry the highest workspace revision
   * this client has seen as `min_revision`, so a check after a write
   * never sees the state before it, on any node. Like the Go client's
   * WithConsistency.
   */
  consistency?: boolean;
  /** Attempts of a retryable call on 503, 429 or a network error; 3 by default, 1 turns retries off. */
  attempts?: number;
  /** The first retry's delay in ms (doubling, with jitter); 100 by default. Retry-After wins when the server sends it. */
  retryDelayMs?: number;
  /** The longest wait between attempts, in ms; 5000 by default. */
  maxDelayMs?: number;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch;
}

// Decision POSTs change nothing: they are retried like GET, PUT and DELETE.
const decisionPath = /\/(check|check\/batch|check\/resources|filter|explain|access\/v1\/[a-z/]+)$/;
// POSTs that create something carry an Idempotency-Key, so they are
// retried too and a retry answers the first creation (never a second one).
const creationPath =
  /^\/v1\/workspaces(\/[^/]+\/(keys|roles|roles\/[^/]+\/duplicate|roles\/[^/]+\/revisions\/\d+\/restore|console-links|sessions))?$/;
const decisionWithRevision = /^\/v1\/workspaces\/[^/]+\/(check|check\/batch|check\/resources|filter|explain)$/;

function workspaceOf(path: string): string | undefined {
  const m = /^\/v1\/workspaces\/([^/]+)/.exec(path);
  return m ? decodeURIComponent(m[1]) : undefined;
}

/**
 * A Gatehouse client. `api` is the typed client of every route
 * (`gh.api.GET("/v1/workspaces/{ws}/roles", { params: { path: { ws } } })`);
 * the methods below are the calls a host makes on its hot paths.
 */
export class Gatehouse {
  /** The typed client of every route of the OpenAPI document. */
  readonly api: Client<paths>;
  private readonly revisions: Map<string, number>;
  private readonly opts: Required<Pick<Options, "attempts" | "retryDelayMs" | "maxDelayMs">> & Options;

  constructor(opts: Options, revisions?: Map<string, number>) {
    this.opts = { attempts: 3, retryDelayMs: 100, maxDelayMs: 5000, ...opts };
    this.revisions = revisions ?? new Map();
    const headers: Record<string, string> = { Authorization: `Bearer ${opts.key}` };
    if (opts.actor) headers["Gatehouse-Actor"] = opts.actor;
    this.api = createClient<paths>({
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
      headers,
      fetch: (req: Request) => this.send(req),
    });
    this.api.use(this.middleware());
  }

  /** A client acting as member `actor` (X3, X3a), sharing this one's revisions. */
  as(actor: string): Gatehouse {
    return new Gatehouse({ ...this.opts, actor }, this.revisions);
  }

  /** The highest revision of workspace ws this client has seen: pass it as min_revision to read your writes. */
  lastRevision(ws: string): number {
    return this.revisions.get(ws) ?? 0;
  }

  private see(ws: string | undefined, rev: unknown) {
    if (!ws || typeof rev !== "number" || rev <= 0) return;
    if (rev > (this.revisions.get(ws) ?? 0)) this.revisions.set(ws, rev);
  }

  private middleware(): Middleware {
    return {
      onRequest: async ({ request }) => {
        const path = new URL(request.url).pathname;
        if (request.method === "POST" && creationPath.test(path) && !request.headers.has("Idempotency-Key")) {
          request.headers.set("Idempotency-Key", crypto.randomUUID());
        }
        const ws = workspaceOf(path);
        const rev = ws ? this.revisions.get(ws) : undefined;
        if (this.opts.consistency && rev && request.method === "POST" && decisionWithRevision.test(path)) {
          const body = (await request.clone().json()) as Record<string, unknown>;
          if (typeof body.min_revision !== "number" || body.min_revision < rev) {
            body.min_revision = rev;
            return new Request(request, { body: JSON.stringify(body) });
          }
        }
        return request;
      },
      onResponse: async ({ request, response }) => {
        const ws = workspaceOf(new URL(request.url).pathname);
        const h = response.headers.get("Gatehouse-Revision");
        if (h) this.see(ws, Number(h));
        if (response.ok && response.headers.get("Content-Type")?.startsWith("application/json")) {
          const body = (await response.clone().json().catch(() => undefined)) as Record<string, unknown> | undefined;
          if (body) this.see(ws, body.workspace_revision ?? body.revision);
        }
        return response;
      },
    };
  }

  private retryable(req: Request): boolean {
    const path = new URL(req.url).pathname;
    switch (req.method) {
      case "GET":
      case "HEAD":
      case "PUT":
      case "DELETE":
        return true;
      case "POST":
        return decisionPath.test(path) || req.headers.has("Idempotency-Key");
    }
    return false;
  }

  // send is openapi-fetch's fetch: retries of retryable calls on 503, 429
  // and network errors, with exponential backoff or the server's
  // Retry-After.
  private async send(req: Request): Promise<Response> {
    const f = this.opts.fetch ?? fetch;
    const attempts = this.retryable(req) ? Math.max(1, this.opts.attempts) : 1;
    for (let i = 1; ; i++) {
      let wait: number;
      try {
        const res = await f(req.clone());
        if ((res.status !== 503 && res.status !== 429) || i >= attempts) return res;
        const ra = Number(res.headers.get("Retry-After"));
        wait = Number.isFinite(ra) && res.headers.has("Retry-After") ? ra * 1000 : this.backoff(i);
        await res.body?.cancel();
      } catch (err) {
        if (i >= attempts) throw err;
        wait = this.backoff(i);
      }
      await new Promise((r) => setTimeout(r, Math.min(wait, this.opts.maxDelayMs)));
    }
  }

  private backoff(attempt: number): number {
    const d = this.opts.retryDelayMs * 2 ** (attempt - 1);
    return d / 2 + Math.random() * (d / 2);
  }

  /** Throws the API's error, typed; returns the data otherwise. */
  private static unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
    if (r.error !== undefined || r.data === undefined) {
      const e = (r.error ?? {}) as { error?: { code?: string; message?: string; details?: ErrorDetails } };
      const ra = r.response.headers.get("Retry-After");
      throw new GatehouseError(
        r.response.status,
        e.error?.code ?? r.response.headers.get("Gatehouse-Error-Code") ?? "internal",
        e.error?.message ?? `HTTP ${r.response.status}`,
        e.error?.details ?? {},
        ra ? Number(ra) : undefined,
      );
    }
    return r.data;
  }

  /** May the user (or session) do this, on this record if given (D1, D2)? */
  async check(ws: string, req: CheckRequest): Promise<Check> {
    return Gatehouse.unwrap(await this.api.POST("/v1/workspaces/{ws}/check", { params: { path: { ws } }, body: req }));
  }

  /** Up to 1,000 checks at one revision, in order; an undecided check carries its error and its code as reason (D4). */
  async checkBatch(ws: string, req: BatchRequest): Promise<Batch> {
    return Gatehouse.unwrap(await this.api.POST("/v1/workspaces/{ws}/check/batch", { params: { path: { ws } }, body: req }));
  }

  /** One user, many records, several permissions each: a list page's buttons in one call. */
  async checkResources(ws: string, req: CheckResourcesRequest): Promise<CheckResources> {
    return Gatehouse.unwrap(await this.api.POST("/v1/workspaces/{ws}/check/resources", { params: { path: { ws } }, body: req }));
  }

  /** Which records the user may reach with a permission (D5); render it with filterToSQL. */
  async filter(ws: string, req: FilterRequest): Promise<Schemas["Filter"]> {
    return Gatehouse.unwrap(await this.api.POST("/v1/workspaces/{ws}/filter", { params: { path: { ws } }, body: req }));
  }

  /** A session token for the user (A2): decisions with it fail with reauthentication_required once the member's permissions change. */
  async createSession(ws: string, user: string, ttlSeconds?: number): Promise<Session> {
    const body: Schemas["SessionRequest"] = { user };
    if (ttlSeconds !== undefined) body.ttl_seconds = ttlSeconds;
    return Gatehouse.unwrap(await this.api.POST("/v1/workspaces/{ws}/sessions", { params: { path: { ws } }, body }));
  }

  /** The workspace's policy as code, as a JSON object (the PolicyFile schema). */
  async exportPolicy(ws: string): Promise<Schemas["PolicyFile"]> {
    return Gatehouse.unwrap(
      await this.api.GET("/v1/workspaces/{ws}/policy", {
        params: { path: { ws } },
        headers: { Accept: "application/json" },
        parseAs: "json",
      }),
    ) as Schemas["PolicyFile"];
  }
}

/** Reads every page of a list (`limit`, `cursor`, `next_cursor`). */
export async function* pages<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; next_cursor?: string }>): AsyncGenerator<T> {
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    yield* page.items;
    if (!page.next_cursor || page.next_cursor === cursor) return;
    cursor = page.next_cursor;
  }
}
