// The SDK against a real Gatehouse server (sdk_test.go starts one and
// runs `npm test` with GATEHOUSE_URL and GATEHOUSE_ADMIN_KEY), and its
// SQL against a real PostgreSQL (GATEHOUSE_TEST_POSTGRES) compared with
// per-record checks, as the Go client's filter test does.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import pg from "pg";

import { Gatehouse, GatehouseError, filterToSQL, pages, type Schemas } from "../src/index.js";

const baseUrl = process.env.GATEHOUSE_URL ?? "";
const adminKey = process.env.GATEHOUSE_ADMIN_KEY ?? "";
const pgURL = process.env.GATEHOUSE_TEST_POSTGRES ?? "";
if (!baseUrl || !adminKey) throw new Error("run through sdk_test.go: GATEHOUSE_URL and GATEHOUSE_ADMIN_KEY are not set");

const ws = `ts${Date.now().toString(36)}`;
const deployment = new Gatehouse({ baseUrl, key: adminKey });
let admin: Gatehouse;
let checker: Gatehouse;

const users = ["ann", "bob", "cat", "dan", "eve"];

before(async () => {
  const created = await deployment.api.POST("/v1/workspaces", {
    body: { id: ws, name: "TypeScript SDK", plan: "professional" },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  const key = (scope: "admin" | "check") =>
    deployment.api.POST("/v1/workspaces/{ws}/keys", { params: { path: { ws } }, body: { scope, name: `sdk ${scope}` } });
  admin = new Gatehouse({ baseUrl, key: (await key("admin")).data!.key! });
  checker = new Gatehouse({ baseUrl, key: (await key("check")).data!.key!, consistency: true });
  const p = { params: { path: { ws } } };
  for (const [id, parent] of [["sales", undefined], ["east", "sales"], ["west", "sales"], ["support", undefined]] as const) {
    const r = await admin.api.PUT("/v1/workspaces/{ws}/departments/{id}", {
      params: { path: { ws, id } },
      body: parent ? { name: id, parent_id: parent } : { name: id },
    });
    assert.equal(r.response.status, 200, JSON.stringify(r.error));
  }
  const roles: [string, Record<string, Schemas["Level"]>][] = [
    ["Own deals", { deals_view: "own", deals_edit: "own" }],
    ["Department deals", { deals_view: "department", deals_edit: "own" }],
    ["Sub deals", { deals_view: "subdepartments" }],
    ["All deals", { deals_view: "all", deals_edit: "department" }],
  ];
  for (const [name, grants] of roles) {
    const r = await admin.api.POST("/v1/workspaces/{ws}/roles", { ...p, body: { name, grants } });
    assert.equal(r.response.status, 201, JSON.stringify(r.error));
  }
  const members: [string, string[], string][] = [
    ["ann", ["east"], "own_deals"],
    ["bob", ["east"], "department_deals"],
    ["cat", ["sales"], "sub_deals"],
    ["dan", ["support"], "all_deals"],
    ["eve", ["west"], "employee"],
  ];
  for (const [user, departments, role] of members) {
    const r = await admin.api.PUT("/v1/workspaces/{ws}/members/{user}", {
      params: { path: { ws, user } },
      body: { name: user, kind: "internal", department_ids: departments, role_ids: [role] },
    });
    assert.equal(r.response.status, 200, JSON.stringify(r.error));
  }
});

describe("typed API", () => {
  test("errors carry their code and typed details (C1 suggestions)", async () => {
    await assert.rejects(checker.check(ws, { user: "ann", permission: "deal_view" }), (err: unknown) => {
      assert.ok(err instanceof GatehouseError);
      assert.equal(err.status, 422);
      assert.equal(err.code, "unknown_permission");
      assert.ok(err.details.suggestions?.includes("deals_view"), JSON.stringify(err.details));
      return true;
    });
  });

  test("batch items echo correlation ids; an undecided item gives its error's code as reason", async () => {
    const b = await checker.checkBatch(ws, {
      checks: [
        { correlation_id: "row-1", user: "ann", permission: "deals_view", resource: { owner_id: "ann" } },
        { correlation_id: "row-2", user: "ann", permission: "deal_view" },
      ],
    });
    assert.deepEqual(b.results.map((r) => [r.correlation_id, r.allowed, r.reason]), [
      ["row-1", true, "owner"],
      ["row-2", false, "unknown_permission"],
    ]);
    assert.equal(b.results[1].error?.details?.suggestions?.[0], "deals_view");
  });

  test("check/resources answers one user's buttons for many records", async () => {
    const r = await checker.checkResources(ws, {
      user: "bob",
      permissions: ["deals_view", "deals_edit"],
      resources: [
        { id: "mine", resource: { owner_id: "bob" } },
        { id: "colleague", resource: { owner_id: "ann", department_id: "east" } },
        { id: "elsewhere", resource: { owner_id: "eve", department_id: "west" } },
      ],
    });
    const view = Object.fromEntries(r.results.map((x) => [x.id, [x.permissions.deals_view.allowed, x.permissions.deals_edit.allowed]]));
    assert.deepEqual(view, { mine: [true, true], colleague: [true, false], elsewhere: [false, false] });
  });

  test("the policy export comes as typed JSON", async () => {
    const p = await admin.exportPolicy(ws);
    assert.equal(p.version, 1);
    assert.ok(p.roles.some((r) => r.id === "own_deals" && r.grants.deals_view === "own"));
  });

  test("lists page with limit, cursor and next_cursor", async () => {
    const ids: string[] = [];
    for await (const d of pages(async (cursor) =>
      (await admin.api.GET("/v1/workspaces/{ws}/departments", { params: { path: { ws }, query: { limit: 1, cursor } } })).data!,
    )) {
      ids.push(d.id);
    }
    assert.deepEqual(ids, ["east", "sales", "support", "west"]);
  });
});

describe("sessions and read-your-writes", () => {
  test("a session decides until the member's permissions change (A2)", async () => {
    const elsewhere = { owner_id: "dan", department_id: "support" };
    const s = await checker.createSession(ws, "eve");
    assert.equal((await checker.check(ws, { session: s.token, permission: "deals_view", resource: elsewhere })).allowed, false);
    // The write moves eve's epoch; the checker saw no revision of it, but
    // consistency carries the admin's revision once it is shared.
    const w = await admin.api.PUT("/v1/workspaces/{ws}/members/{user}/roles", {
      params: { path: { ws, user: "eve" } },
      body: { role_ids: ["all_deals"] },
    });
    assert.equal(w.response.status, 200);
    const fresh = new Gatehouse({ baseUrl, key: adminKey, consistency: true });
    await fresh.api.GET("/v1/workspaces/{ws}", { params: { path: { ws } } });
    await assert.rejects(fresh.check(ws, { session: s.token, permission: "deals_view" }), (err: unknown) => {
      assert.ok(err instanceof GatehouseError);
      assert.equal(err.code, "reauthentication_required");
      return true;
    });
    const s2 = await fresh.createSession(ws, "eve");
    assert.equal((await fresh.check(ws, { session: s2.token, permission: "deals_view", resource: elsewhere })).allowed, true);
    await admin.api.PUT("/v1/workspaces/{ws}/members/{user}/roles", {
      params: { path: { ws, user: "eve" } },
      body: { role_ids: ["employee"] },
    });
  });

  test("with consistency, a decision after a write carries min_revision (D8)", async () => {
    const seen: unknown[] = [];
    const spy: typeof fetch = async (input, init) => {
      const req = new Request(input as Request, init);
      if (req.method === "POST") seen.push(await req.clone().json());
      return fetch(req);
    };
    const gh = new Gatehouse({ baseUrl, key: adminKey, consistency: true, fetch: spy });
    const w = await gh.api.PATCH("/v1/workspaces/{ws}/roles/{role}", {
      params: { path: { ws, role: "sub_deals" } },
      body: { description: "touched" },
    });
    assert.equal(w.response.status, 200, JSON.stringify(w.error));
    const rev = gh.lastRevision(ws);
    assert.ok(rev > 0);
    await gh.check(ws, { user: "cat", permission: "deals_view" });
    assert.equal((seen.at(-1) as { min_revision?: number }).min_revision, rev);
  });
});

describe("retries", () => {
  let server: ReturnType<typeof createServer>;
  let url = "";
  const hits = new Map<string, number>();
  const keys: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const k = `${req.method} ${req.url}`;
      const n = (hits.get(k) ?? 0) + 1;
      hits.set(k, n);
      if (req.headers["idempotency-key"]) keys.push(String(req.headers["idempotency-key"]));
      if (n <= 2) {
        res.writeHead(req.url?.endsWith("/roles") && req.method === "GET" ? 429 : 503, {
          "Content-Type": "application/json",
          "Retry-After": "0",
        });
        res.end('{"error":{"code":"unavailable","message":"try again"}}');
        return;
      }
      res.writeHead(req.method === "POST" && !req.url?.includes("check") ? 201 : 200, { "Content-Type": "application/json" });
      res.end('{"items":[],"allowed":true,"level":"all","reason":"granted","revision":1,"id":"x","name":"x","workspace_revision":1}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  test("idempotent calls are retried on 503 and 429; other writes are not", async () => {
    const gh = new Gatehouse({ baseUrl: url, key: "k", retryDelayMs: 1 });
    const p = { params: { path: { ws: "w" } } };
    assert.equal((await gh.api.GET("/v1/workspaces/{ws}/roles", p)).response.status, 200);
    assert.equal((await gh.check("w", { user: "u", permission: "p" })).allowed, true);
    // A creation carries an Idempotency-Key, the same on every attempt.
    assert.equal((await gh.api.POST("/v1/workspaces/{ws}/roles", { ...p, body: { name: "R" } })).response.status, 201);
    assert.equal(keys.length, 3);
    assert.equal(new Set(keys).size, 1);
    // A PATCH is not retried: the 503 is the answer.
    const patch = await gh.api.PATCH("/v1/workspaces/{ws}/roles/{role}", { params: { path: { ws: "w", role: "r" } }, body: {} });
    assert.equal(patch.response.status, 503);
    assert.equal(hits.get("PATCH /v1/workspaces/w/roles/r"), 1);
  });
});

describe("filter → SQL against PostgreSQL (D5)", { skip: pgURL === "" ? "GATEHOUSE_TEST_POSTGRES is not set" : false }, () => {
  const db = new pg.Client({ connectionString: pgURL });
  const table = `ts_records_${process.pid}`;
  type Rec = { id: number; owner: string; department: string | null; responsible: string | null };
  const recs: Rec[] = [];
  before(async () => {
    await db.connect();
    await db.query(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, owner_id TEXT NOT NULL, department_id TEXT, responsible_id TEXT)`);
    const owners = [...users, "stranger"];
    const depts = ["sales", "east", "west", "support", "gone", null];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let id = 1; id <= 300; id++) {
      const rec = { id, owner: owners[rnd(owners.length)], department: depts[rnd(depts.length)], responsible: rnd(4) === 0 ? owners[rnd(owners.length)] : null };
      recs.push(rec);
      await db.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4)`, [rec.id, rec.owner, rec.department, rec.responsible]);
    }
  });
  after(async () => {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });

  for (const dialect of ["postgres", "postgres-array"] as const) {
    test(`the SQL (${dialect}) selects exactly the records checks allow`, async () => {
      for (const user of [...users, "nobody"]) {
        for (const permission of ["deals_view", "deals_edit"]) {
          const f = await checker.filter(ws, { user, permission });
          const { where, params } = filterToSQL(
            f,
            { owner: "owner_id", department: "department_id", relationColumns: { responsible: "responsible_id" } },
            dialect,
          );
          assert.ok(!where.includes("'"), `values in the SQL text: ${where}`);
          const got = (await db.query(`SELECT id FROM ${table} WHERE ${where} ORDER BY id`, params)).rows.map((r) => r.id as number);
          const want: number[] = [];
          for (let i = 0; i < recs.length; i += 200) {
            const chunk = recs.slice(i, i + 200);
            const r = await checker.checkResources(ws, {
              user,
              permissions: [permission],
              resources: chunk.map((rec) => ({
                id: String(rec.id),
                resource: {
                  owner_id: rec.owner,
                  ...(rec.department ? { department_id: rec.department } : {}),
                  ...(rec.responsible ? { relations: { responsible: [rec.responsible] } } : {}),
                },
              })),
            });
            for (const x of r.results) if (x.permissions[permission].allowed) want.push(Number(x.id));
          }
          assert.deepEqual(got, want, `${user} ${permission}: ${where} ${JSON.stringify(params)}`);
        }
      }
    });
  }

  test("column names must be identifiers", () => {
    assert.throws(() => filterToSQL({ kind: "all", owner_ids: [], department_ids: [], department_owner_ids: [], relations: [], level: "all", revision: 1 }, { owner: "owner_id; DROP TABLE x", department: "d" }), TypeError);
  });
});
