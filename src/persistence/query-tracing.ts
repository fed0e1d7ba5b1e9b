import type { DatabaseKind } from '../config/schema.js';
import type { Trace } from '../observability/tracing.js';

/**
 * A client span for every query through the returned client (observability/tracing.ts; applied only
 * when tracing is on: database.ts): `db <Model>.<operation>` for the model API (`db User.update`), and
 * `db <STATEMENT> <table>` for hand-written SQL (`db SELECT users`: raw-sql.ts), with the database
 * system, the model or table and the operation; hand-written SQL also gives its text, which holds
 * placeholders only. Never the arguments: they hold emails, password hashes, token digests and
 * whatever else a query looks up or writes.
 */
export function withQueryTracing<C extends { $extends: (extension: never) => unknown }>(client: C, kind: DatabaseKind, traced: Trace): C {
  const system = kind === 'sqlite' ? 'sqlite' : 'postgresql';
  return client.$extends({
    query: {
      $allOperations({ model, operation, args, query }: { model?: string; operation: string; args: unknown; query: (args: unknown) => Promise<unknown> }) {
        const raw = model ? undefined : rawStatement(args);
        const attributes: Record<string, string> = { 'db.system': system, 'db.system.name': system, 'db.operation.name': raw?.operation ?? operation };
        if (model) attributes['db.collection.name'] = model;
        if (raw?.table) attributes['db.collection.name'] = raw.table;
        if (raw) attributes['db.query.text'] = raw.sql;
        const name = model ? `db ${model}.${operation}` : raw ? `db ${raw.operation}${raw.table ? ` ${raw.table}` : ''}` : `db ${operation}`;
        return traced(name, { kind: 'client', attributes }, () => query(args));
      },
    },
  } as never) as C;
}

/** The statement and table of hand-written SQL (`$queryRawUnsafe(sql, ...values)`): the values stay out. */
function rawStatement(args: unknown): { sql: string; operation: string; table: string | undefined } | undefined {
  const sql = Array.isArray(args) && typeof args[0] === 'string' ? args[0] : undefined;
  if (!sql) return undefined;
  const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
  const table = /\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?/i.exec(sql)?.[1];
  return { sql: sql.replace(/\s+/g, ' ').trim(), operation, table };
}
