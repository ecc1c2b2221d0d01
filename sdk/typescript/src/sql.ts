// Filter → SQL (D5): the same rendering as the Go client's Filter.SQL,
// so that a host's list page selects exactly the records checks allow.

import type { components } from "./schema.js";

/** The answer of POST /v1/workspaces/{ws}/filter. */
export type Filter = components["schemas"]["Filter"];

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
 * conditional filter as an OR of its clauses. Values travel only as
 * parameters, never in the SQL text. A relation the columns do not cover
 * is left out, which only ever leaves records out.
 */
export function filterToSQL(f: Filter, cols: Columns, dialect: Dialect = "postgres"): SQLWhere {
  mustBeIdentifier("owner", cols.owner);
  mustBeIdentifier("department", cols.department);
  const t = cols.relationTable;
  if (t) {
    for (const k of ["table", "record", "recordId", "relation", "user"] as const) mustBeIdentifier(`relationTable.${k}`, t[k]);
  }
  for (const [rel, col] of Object.entries(cols.relationColumns ?? {})) mustBeIdentifier(`relationColumns[${JSON.stringify(rel)}]`, col);

  const params: unknown[] = [];
  const constant = (b: boolean) => (dialect === "sqlite" ? (b ? "1=1" : "1=0") : b ? "TRUE" : "FALSE");
  const arg = (v: unknown) => {
    params.push(v);
    return dialect === "sqlite" ? "?" : `$${params.length}`;
  };
  const inList = (col: string, values: string[]) =>
    dialect === "postgres-array" ? `${col} = ANY(${arg([...values])})` : `${col} IN (${values.map(arg).join(", ")})`;

  if (f.kind === "all") return { where: constant(true), params: [] };
  if (f.kind !== "conditional") return { where: constant(false), params: [] };
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
        const col = cols.relationColumns?.[rel];
        if (col) clauses.push(`${col} = ${arg(f.relation_user)}`);
      }
    }
  }
  if (clauses.length === 0) return { where: constant(false), params: [] };
  return { where: `(${clauses.join(" OR ")})`, params };
}
