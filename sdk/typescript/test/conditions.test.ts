// filterToSQL with grant conditions (G4): roles whose grants carry CEL
// conditions of every renderable shape, random records with attributes
// (missing ones included), a few request contexts; the SQL rendered from
// the server's filter must select, on real PostgreSQL and SQLite (sql.js),
// exactly the records per-record checks allow, as the Go client's
// TestG4_ConditionalFilterSQLSelectsWhatChecksAllow does.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import initSqlJs, { type Database } from "sql.js";

import { Gatehouse, filterToSQL, type Columns, type Dialect, type Filter, type Schemas } from "../src/index.js";

const baseUrl = process.env.GATEHOUSE_URL ?? "";
const adminKey = process.env.GATEHOUSE_ADMIN_KEY ?? "";
const pgURL = process.env.GATEHOUSE_TEST_POSTGRES ?? "";
if (!baseUrl || !adminKey) throw new Error("run through sdk_test.go: GATEHOUSE_URL and GATEHOUSE_ADMIN_KEY are not set");

const ws = `tc${Date.now().toString(36)}`;
const deployment = new Gatehouse({ baseUrl, key: adminKey });
let checker: Gatehouse;

// Each role's deals_view grant (or crm_view's, which deals_view inherits),
// conditional but for "Own deals": every
// shape of the tree — comparisons both ways round, in, &&, ||, !,
// startsWith, contains, has, timestamps, record.owner_id, request values.
const roles: [string, Schemas["Grants"]][] = [
  ["Small open", { deals_view: { level: "department", when: "record.amount <= 10000.0 && record.stage != 'closed'" } }],
  ["Won or VIP", { deals_view: { level: "all", when: "record.stage in ['won', 'new'] || record.vip == true" } }],
  ["Own regional", { deals_view: { level: "own", when: "!(record.region.startsWith('a')) && record.stage.contains('o')" } }],
  ["Early", { deals_view: { level: "subdepartments", when: "has(record.vip) && timestamp(record.closed_at) < timestamp('2026-06-15T00:00:00Z')" } }],
  ["By request", { deals_view: { level: "all", when: "record.region == request.region || timestamp(record.closed_at) >= timestamp(request.time)" } }],
  ["Amounts", { deals_view: { level: "all", when: "15000.0 > record.amount && record.owner_id == 'kim' || record.amount == 20000.0" } }],
  ["Own deals", { deals_view: "own" }],
  // deals_view inherits crm_view's grant and its condition (C6).
  ["CRM wide", { crm_view: { level: "department", when: "record.vip == false || record.amount >= 20000.0" } }],
];
const members: [string, string, string[]][] = [
  ["gia", "east", ["Small open"]],
  ["hal", "sales", ["Won or VIP", "Own deals"]],
  ["ivy", "support", ["Own regional", "Early"]],
  ["jon", "east", ["By request"]],
  ["kim", "sales", ["Amounts", "Early", "Own deals"]],
  ["lee", "support", ["Own deals"]],
  ["max", "east", ["CRM wide"]],
];
// Direct grants (M5), conditional too.
const direct: Record<string, Schemas["Grants"]> = {
  max: { deals_view: { level: "all", when: "record.stage.contains('s') && !has(record.region)" } },
};
const contexts: Schemas["Context"][] = [
  {},
  { region: "eu", time: "2026-05-10T00:00:00Z" },
  { region: "apac" },
  { time: "2026-09-10T00:00:00Z" },
];

type Attrs = { amount?: number; stage?: string; vip?: boolean; closed_at?: string; region?: string };
type Rec = { id: number; owner: string; department: string | null; attrs: Attrs };
const recs: Rec[] = [];
{
  let seed = 18;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), Math.floor(seed / 65536) % n);
  const owners = [...members.map((m) => m[0]), "stranger"];
  const depts = ["sales", "east", "support", null];
  const stages = ["new", "won", "lost", "closed"];
  const regions = ["eu", "us", "apac"];
  for (let id = 1; id <= 240; id++) {
    const attrs: Attrs = {};
    if (rnd(3) > 0) attrs.amount = rnd(5) * 5000;
    if (rnd(3) > 0) attrs.stage = stages[rnd(stages.length)];
    if (rnd(3) > 0) attrs.vip = rnd(2) === 0;
    if (rnd(3) > 0) attrs.closed_at = new Date(Date.UTC(2026, rnd(12), 1 + rnd(28))).toISOString().replace(".000Z", "Z");
    if (rnd(3) > 0) attrs.region = regions[rnd(regions.length)];
    recs.push({ id, owner: owners[rnd(owners.length)], department: depts[rnd(depts.length)], attrs });
  }
}

const cols: Columns = {
  owner: "r.owner_id",
  department: "r.department_id",
  attributes: { amount: "r.amount", stage: "r.stage", vip: "r.vip", closed_at: "r.closed_at", region: "r.region" },
};

// One question: a user's filter in a context, and the ids checks allow.
type Question = { user: string; context: Schemas["Context"]; filter: Filter; want: number[] };
const questions: Question[] = [];
let throughConditions = 0;

before(async () => {
  const created = await deployment.api.POST("/v1/workspaces", { body: { id: ws, name: "TypeScript SDK conditions", plan: "professional" } });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  const key = (scope: "admin" | "check") =>
    deployment.api.POST("/v1/workspaces/{ws}/keys", { params: { path: { ws } }, body: { scope, name: `sdk ${scope}` } });
  const admin = new Gatehouse({ baseUrl, key: (await key("admin")).data!.key! });
  checker = new Gatehouse({ baseUrl, key: (await key("check")).data!.key!, consistency: true });
  for (const [id, parent] of [["sales", undefined], ["east", "sales"], ["support", undefined]] as const) {
    const r = await admin.api.PUT("/v1/workspaces/{ws}/departments/{id}", {
      params: { path: { ws, id } },
      body: parent ? { name: id, parent_id: parent } : { name: id },
    });
    assert.equal(r.response.status, 200, JSON.stringify(r.error));
  }
  const roleIds = new Map<string, string>();
  for (const [name, grants] of roles) {
    const r = await admin.api.POST("/v1/workspaces/{ws}/roles", { params: { path: { ws } }, body: { name, grants } });
    assert.equal(r.response.status, 201, `${name}: ${JSON.stringify(r.error)}`);
    roleIds.set(name, r.data!.id);
  }
  for (const [user, dept, names] of members) {
    const r = await admin.api.PUT("/v1/workspaces/{ws}/members/{user}", {
      params: { path: { ws, user } },
      body: { name: user, kind: "internal", department_ids: [dept], role_ids: names.map((n) => roleIds.get(n)!) },
    });
    assert.equal(r.response.status, 200, JSON.stringify(r.error));
  }
  for (const [user, grants] of Object.entries(direct)) {
    const r = await admin.api.PUT("/v1/workspaces/{ws}/members/{user}/grants", { params: { path: { ws, user } }, body: { grants } });
    assert.equal(r.response.status, 200, JSON.stringify(r.error));
  }
  // checker has not seen admin's writes: carry them (D8).
  const rev = admin.lastRevision(ws);
  for (const [user] of members) {
    for (const context of contexts) {
      const filter = await checker.filter(ws, { user, permission: "deals_view", context, min_revision: rev });
      const b = await checker.checkBatch(ws, {
        min_revision: rev,
        checks: recs.map((rec) => ({
          user,
          permission: "deals_view",
          context,
          resource: {
            owner_id: rec.owner,
            ...(rec.department ? { department_id: rec.department } : {}),
            attributes: rec.attrs,
          },
        })),
      });
      const want: number[] = [];
      b.results.forEach((x, i) => {
        assert.equal(x.error, undefined, JSON.stringify(x));
        if (x.allowed) want.push(recs[i].id);
        if (x.allowed && x.conditional) throughConditions++;
      });
      questions.push({ user, context, filter, want });
    }
  }
});

test("G4: the data exercises conditions", (t) => {
  const allowed = questions.reduce((n, q) => n + q.want.length, 0);
  t.diagnostic(`${questions.length} filters, ${allowed} of ${questions.length * recs.length} checks allowed, ${throughConditions} through conditions only`);
  assert.ok(throughConditions >= 100, `only ${throughConditions} checks allowed through conditions`);
  assert.ok(questions.filter((q) => (q.filter.conditions ?? []).length > 0).length >= 20, "few filters carry conditions");
  // Some condition allows, some denies, for each conditional member.
  for (const q of questions) if (q.user !== "lee") assert.ok(q.want.length < recs.length, `${q.user} sees everything`);
});

// selectAll runs every question's SQL in dialect and compares it with the checks.
async function selectAll(dialect: Dialect, query: (where: string, params: unknown[]) => Promise<number[]>) {
  for (const q of questions) {
    const { where, params } = filterToSQL(q.filter, cols, dialect);
    assert.ok(!where.includes("'"), `values in the SQL text: ${where}`);
    const got = await query(where, params);
    assert.deepEqual(got, q.want, `${q.user} in ${JSON.stringify(q.context)} (${dialect}): ${where} ${JSON.stringify(params)}`);
  }
}

describe("G4: conditional filter → SQL selects what checks allow, PostgreSQL", { skip: pgURL === "" ? "GATEHOUSE_TEST_POSTGRES is not set" : false }, () => {
  const db = new pg.Client({ connectionString: pgURL });
  const table = `ts_crecords_${process.pid}`;
  before(async () => {
    await db.connect();
    await db.query(
      `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, owner_id TEXT NOT NULL, department_id TEXT, ` +
        `amount DOUBLE PRECISION, stage TEXT, vip BOOLEAN, closed_at TIMESTAMPTZ, region TEXT)`,
    );
    for (const r of recs) {
      const a = r.attrs;
      await db.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
        r.id, r.owner, r.department, a.amount ?? null, a.stage ?? null, a.vip ?? null, a.closed_at ?? null, a.region ?? null,
      ]);
    }
  });
  after(async () => {
    await db.query(`DROP TABLE IF EXISTS ${table}`);
    await db.end();
  });
  for (const dialect of ["postgres", "postgres-array"] as const) {
    test(`G4_${dialect}: the rendered SQL selects exactly the records checks allow`, async () => {
      await selectAll(dialect, async (where, params) =>
        (await db.query(`SELECT r.id FROM ${table} r WHERE ${where} ORDER BY r.id`, params)).rows.map((x) => x.id as number),
      );
    });
  }
});

describe("G4: conditional filter → SQL selects what checks allow, SQLite", () => {
  let db: Database;
  before(async () => {
    db = new (await initSqlJs()).Database();
    db.run(
      "CREATE TABLE crecords (id INTEGER PRIMARY KEY, owner_id TEXT NOT NULL, department_id TEXT, " +
        "amount REAL, stage TEXT, vip INTEGER, closed_at TEXT, region TEXT)",
    );
    for (const r of recs) {
      const a = r.attrs;
      db.run("INSERT INTO crecords VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        r.id, r.owner, r.department, a.amount ?? null, a.stage ?? null, a.vip === undefined ? null : a.vip ? 1 : 0, a.closed_at ?? null, a.region ?? null,
      ]);
    }
  });
  after(() => db.close());
  test("G4_sqlite: the rendered SQL selects exactly the records checks allow", async () => {
    await selectAll("sqlite", async (where, params) => {
      const res = db.exec(`SELECT r.id FROM crecords r WHERE ${where} ORDER BY r.id`, params as (string | number | null)[]);
      return res.length === 0 ? [] : res[0].values.map((v) => Number(v[0]));
    });
  });
});

describe("G4: what the server sends is never SQL", () => {
  const base: Filter = { kind: "conditional", owner_ids: [], department_ids: [], department_owner_ids: [], relations: [], level: "own", revision: 1 };
  const hostile: Filter = {
    ...base,
    conditions: [
      {
        level: "all",
        when: {
          op: "or",
          operands: [
            { op: "eq", attribute: "stage", value: "x' OR 1=1 --" },
            { op: "in", attribute: "region", value: ["a'); DROP TABLE t; --", true] },
            { op: "starts_with", attribute: "stage", value: "'" },
            { op: "contains", attribute: "stage", value: "%" },
            { op: "eq", attribute: "amount; DROP TABLE t", value: 1 },
            { op: "has", attribute: "constructor" },
            { op: "has", attribute: "__proto__" },
            { op: "lt", attribute: "closed_at", value: "2026-01-01T00:00:00Z", timestamp: true },
            { op: "not", operands: [{ op: "unknown" }] },
            { op: "drop_table" as "eq", attribute: "stage", value: 1 },
          ],
        },
      },
    ],
  };

  for (const dialect of ["postgres", "postgres-array", "sqlite"] as const) {
    test(`G4_${dialect}: values only as parameters, attribute names only looked up`, () => {
      const { where, params } = filterToSQL(hostile, cols, dialect);
      for (const bad of ["'", "DROP", "--", "%", "constructor", "__proto__", "function", "drop_table"]) {
        assert.ok(!where.includes(bad), `${JSON.stringify(bad)} in ${where}`);
      }
      // Unmapped attributes and unknown ops render as NULL.
      assert.match(where, /\(NULL = [$?]\d*\)/);
      assert.match(where, /\(NULL IS NOT NULL\)/);
      assert.ok(params.includes("x' OR 1=1 --"));
      // SQLite has no boolean: a list's true is 1 there.
      assert.ok(params.includes(dialect === "sqlite" ? 1 : true), JSON.stringify(params));
      const placeholders = where.match(dialect === "sqlite" ? /\?/g : /\$\d+/g) ?? [];
      assert.equal(placeholders.length, params.length);
    });
  }

  test("G4: an attribute's column must be an identifier", () => {
    assert.throws(() => filterToSQL(hostile, { ...cols, attributes: { stage: "stage); DROP TABLE t; --" } }), TypeError);
  });

  test("G4: a conditional grant whose scope the member reaches nothing through is left out", () => {
    const f: Filter = { ...base, conditions: [{ level: "own", when: { op: "true" } }] };
    assert.deepEqual(filterToSQL(f, cols, "sqlite"), { where: "1=0", params: [] });
    const g: Filter = { ...base, conditions: [{ level: "own", owner_ids: ["ann"], when: { op: "has", attribute: "vip" } }] };
    assert.deepEqual(filterToSQL(g, cols), { where: "(((r.owner_id IN ($1)) AND (r.vip IS NOT NULL)))", params: ["ann"] });
  });
});
