// Filter → SQL (D5): the same rendering as the Go client's Filter.SQL,
// so that a host's list page selects exactly the records checks allow.

import type { components } from "./schema.js";

/** The answer of POST /v1/workspaces/{ws}/filter. */
export type Filter = components["schemas"]["Filter"];

/** A grant condition as an expression tree (G4), with the request's values put in. */
export type CondExpr = components["schemas"]["CondExpr"];

/** The SQL flavour to render: PostgreSQL ($1 …, IN lists), PostgreSQL with one array argument per list (= ANY($1)), or SQLite (?). */
export type Dialect = "postgres" | "postgres-array" | "sqlite";

/**
 * Where a table keeps what a filter tests. Names are SQL identifiers,
 * optionally qualified ("r.owner_id"), written into the SQL as they are:
 * they are the program's constants, never input.
 */
export interface Columns {
  /** The record's owner (a user id). */
  owner: string;
  /** The record's department id, NULL when it has none (never ''). */
  department: string;
  /** The record's relations, one row per (record, relation, user). */
  relationTable?: {
    table: string;
    /** Its column referring to the record, e.g. "record_id". */
    record: string;
    /** The filtered table's key it refers to, qualified: "r.id". */
    recordId: string;
    relation: string;
    user: string;
  };
  /** Relation name → a column holding one user id or NULL (used without relationTable). */
  relationColumns?: Record<string, string>;
  /**
   * Record attribute that grant conditions read (`record.<name>`, G1) →
   * its column. `owner_id` and `department_id` default to `owner` and
   * `department`; any other attribute without a column renders as NULL,
   * so a condition on it selects only what it would select for a record
   * lacking the attribute. Timestamps compared in conditions are
   * `timestamptz` columns on PostgreSQL and RFC 3339 text on SQLite;
   * booleans are `boolean` on PostgreSQL and 0/1 on SQLite.
   */
  attributes?: Record<string, string>;
}

/** A boolean SQL expression and its arguments, in placeholder order. */
export interface SQLWhere {
  where: string;
  params: unknown[];
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function mustBeIdentifier(what: string, name: string | undefined): string {
  if (name === undefined || !identifier.test(name)) {
    throw new TypeError(`columns.${what} is ${JSON.stringify(name)}, not an SQL identifier such as owner_id or r.owner_id`);
  }
  return name;
}

/**
 * Renders a filter as a boolean SQL expression with placeholders; AND it
 * into a WHERE clause:
 *
 *     const { where, params } = filterToSQL(f, { owner: "owner_id", department: "department_id" });
 *     await pg.query(`SELECT id FROM deals WHERE ${where}`, params);
 *
 * `all` renders as TRUE (SQLite 1=1), `none` as FALSE (1=0), a
 * conditional filter as an OR of its clauses: the scope's, and for each of
 * its `conditions` (G4) that grant's scope clauses (any record at level
 * all) AND its condition tree, the record attributes it reads mapped to
 * columns by `cols.attributes`. The tree keeps SQL's three-valued logic:
 * a NULL column makes a comparison unknown, and unknown selects nothing,
 * as a condition that fails to evaluate never allows (G3). Values travel
 * only as parameters, never in the SQL text. A relation the columns do
 * not cover is left out, which only ever leaves records out.
 *
 * Throws a TypeError when a column name is not an identifier.
 */
export function filterToSQL(f: Filter, cols: Columns, dialect: Dialect = "postgres"): SQLWhere {
  mustBeIdentifier("owner", cols.owner);
  mustBeIdentifier("department", cols.department);
  const t = cols.relationTable;
  if (t) {
    for (const k of ["table", "record", "recordId", "relation", "user"] as const) mustBeIdentifier(`relationTable.${k}`, t[k]);
  }
  for (const [rel, col] of Object.entries(cols.relationColumns ?? {})) mustBeIdentifier(`relationColumns[${JSON.stringify(rel)}]`, col);
  for (const [a, col] of Object.entries(cols.attributes ?? {})) mustBeIdentifier(`attributes[${JSON.stringify(a)}]`, col);

  const params: unknown[] = [];
  const constant = (b: boolean) => (dialect === "sqlite" ? (b ? "1=1" : "1=0") : b ? "TRUE" : "FALSE");
  const arg = (v: unknown) => {
    params.push(v);
    return dialect === "sqlite" ? "?" : `$${params.length}`;
  };
  const inList = (col: string, values: string[]) =>
    dialect === "postgres-array" ? `${col} = ANY(${arg([...values])})` : `${col} IN (${values.map(arg).join(", ")})`;

  // In SQLite a boolean is 0 or 1.
  const value = (v: unknown) => (dialect === "sqlite" && typeof v === "boolean" ? (v ? 1 : 0) : v);

  type Scope = {
    owner_ids?: string[];
    department_ids?: string[];
    department_owner_ids?: string[];
    relation_user?: string;
    relations?: string[];
  };
  const scope = (f: Scope): string[] => {
    const clauses: string[] = [];
    const owners = f.owner_ids ?? [];
    const depts = f.department_ids ?? [];
    const deptOwners = f.department_owner_ids ?? [];
    const relations = f.relations ?? [];
    if (owners.length > 0) clauses.push(inList(cols.owner, owners));
    if (depts.length > 0) clauses.push(inList(cols.department, depts));
    if (deptOwners.length > 0) clauses.push(`(${cols.department} IS NULL AND ${inList(cols.owner, deptOwners)})`);
    if (f.relation_user && relations.length > 0) {
      if (t) {
        clauses.push(
          `EXISTS (SELECT 1 FROM ${t.table} WHERE ${t.table}.${t.record} = ${t.recordId} AND ` +
            `${inList(`${t.table}.${t.relation}`, relations)} AND ${t.table}.${t.user} = ${arg(f.relation_user)})`,
        );
      } else {
        for (const rel of relations) {
          const col = own(cols.relationColumns, rel);
          if (col) clauses.push(`${col} = ${arg(f.relation_user)}`);
        }
      }
    }
    return clauses;
  };

  // The column of a record attribute, or NULL.
  const attribute = (name: string | undefined): string => {
    const col = name === undefined ? undefined : own(cols.attributes, name);
    if (col) return col;
    if (name === "owner_id") return cols.owner;
    if (name === "department_id") return cols.department;
    return "NULL";
  };

  // A condition tree (G4) as a boolean SQL expression. SQL's three-valued
  // logic is the tree's: a NULL column makes a comparison unknown, and
  // unknown never selects a record, as a condition that fails to evaluate
  // never allows (G3).
  const comparisons: Record<string, string> = { eq: "=", ne: "<>", lt: "<", le: "<=", gt: ">", ge: ">=" };
  const condition = (x: CondExpr | undefined | null): string => {
    if (!x) return constant(false);
    const operands = x.operands ?? [];
    switch (x.op) {
      case "true":
        return constant(true);
      case "false":
        return constant(false);
      case "unknown":
        return "NULL";
      case "and":
      case "or":
        if (operands.length === 0) return constant(x.op === "and");
        return `(${operands.map(condition).join(x.op === "and" ? " AND " : " OR ")})`;
      case "not":
        return operands.length === 1 ? `(NOT ${condition(operands[0])})` : "NULL";
    }
    const col = attribute(x.attribute);
    switch (x.op) {
      case "has":
        return `(${col} IS NOT NULL)`;
      case "in": {
        const list = Array.isArray(x.value) ? x.value : [];
        if (list.length === 0) return `(CASE WHEN ${col} IS NULL THEN NULL ELSE ${constant(false)} END)`;
        return `(${col} IN (${list.map((v) => arg(value(v))).join(", ")}))`;
      }
      case "starts_with": {
        const p = arg(x.value);
        return `(substr(${col}, 1, length(CAST(${p} AS TEXT))) = ${arg(x.value)})`;
      }
      case "contains":
        return dialect === "sqlite" ? `(instr(${col}, ${arg(x.value)}) > 0)` : `(strpos(${col}, ${arg(x.value)}) > 0)`;
    }
    const op = Object.hasOwn(comparisons, x.op) ? comparisons[x.op] : undefined;
    if (!op) return "NULL"; // an op this version does not know: select nothing through it
    if (x.timestamp) {
      return dialect === "sqlite"
        ? `(julianday(${col}) ${op} julianday(${arg(x.value)}))`
        : `(${col} ${op} CAST(${arg(x.value)} AS timestamptz))`;
    }
    return `(${col} ${op} ${arg(value(x.value))})`;
  };

  if (f.kind === "all") return { where: constant(true), params: [] };
  if (f.kind !== "conditional") return { where: constant(false), params: [] };
  const clauses = scope(f);
  for (const c of f.conditions ?? []) {
    let sc = constant(true);
    if (c.level !== "all") {
      const s = scope(c);
      if (s.length === 0) continue;
      sc = `(${s.join(" OR ")})`;
    }
    clauses.push(`(${sc} AND ${condition(c.when)})`);
  }
  if (clauses.length === 0) return { where: constant(false), params: [] };
  return { where: `(${clauses.join(" OR ")})`, params };
}

// own returns m[key] when m has key as its own property (never one of
// Object.prototype's, such as "constructor").
function own(m: Record<string, string> | undefined, key: string): string | undefined {
  return m !== undefined && Object.hasOwn(m, key) ? m[key] : undefined;
}
