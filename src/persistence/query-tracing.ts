import type { DatabaseKind } from '../config/schema.js';
import type { Trace } from '../observability/tracing.js';

/**
 * A client span for every query through the returned client (observability/tracing.ts; applied only
 * when tracing is on: database.ts): `db <Model>.<operation>` (`db $queryRawUnsafe` for raw SQL), with the
 * database system, the model and the operation. Never the arguments: they hold emails, password
 * hashes, token digests and whatever else a query looks up or writes.
 */
export function withQueryTracing<C extends { $extends: (extension: never) => unknown }>(client: C, kind: DatabaseKind, traced: Trace): C {
  const system = kind === 'sqlite' ? 'sqlite' : 'postgresql';
  return client.$extends({
    query: {
      $allOperations({ model, operation, args, query }: { model?: string; operation: string; args: unknown; query: (args: unknown) => Promise<unknown> }) {
        const attributes: Record<string, string> = { 'db.system': system, 'db.system.name': system, 'db.operation.name': operation };
        if (model) attributes['db.collection.name'] = model;
        return traced(`db ${model ? `${model}.` : ''}${operation}`, { kind: 'client', attributes }, () => query(args));
      },
    },
  } as never) as C;
}
