import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

/**
 * Fastify compiles every route's schemas when the route is registered: a validator (Ajv) per input
 * part and a serializer (fast-json-stringify) per response status. For ~100 routes that was about
 * 150 ms of each process's start, for routes most processes never serve. These factories keep
 * fastify's own compilers and options and compile a route's schema on the route's first request
 * instead; every schema is compiled once by test/http/route-schemas.test.ts, so a broken one fails
 * the tests rather than a first request.
 */

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>;
/** A validator as fastify calls it: true or false (or a promise), the refusal's details in `errors`. */
type Validate<E = unknown> = ((data: unknown) => boolean | Promise<unknown>) & { errors?: E };
type Serialize = (doc: unknown) => string;

// Fastify's compilers, resolved from fastify's own folder: the same copies (and versions) it would
// load itself, without depending on how npm laid out node_modules.
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));

/** The validator fastify would compile now, compiled on its first use. Fastify reads a refusal's `errors` from the function. */
export function lazyValidator<V extends Validate<E>, E>(compile: () => V): V {
  let compiled: V | undefined;
  const validate = ((data: unknown) => {
    compiled ??= compile();
    const result = compiled(data);
    validate.errors = compiled.errors;
    return result;
  }) as V;
  validate.errors = undefined;
  return validate;
}

/** The serializer fastify would compile now, compiled on its first use. */
export function lazySerializer<S extends Serialize>(compile: () => S): S {
  let compiled: S | undefined;
  return ((doc: unknown) => (compiled ??= compile())(doc)) as S;
}

/** Fastify's default compilers (the ones it uses without `schemaController`), compiling eagerly. */
export function eagerCompilers(): { buildValidator: BuildValidator; buildSerializer: BuildSerializer } {
  return {
    buildValidator: (fromFastify('@fastify/ajv-compiler') as () => BuildValidator)(),
    buildSerializer: (fromFastify('@fastify/fast-json-stringify-compiler') as () => BuildSerializer)(),
  };
}

/** `schemaController.compilersFactory` for fastify: its default compilers, each route compiled on first use. */
export function lazyCompilersFactory(): CompilersFactory {
  const eager = eagerCompilers();
  const buildValidator: BuildValidator = (externalSchemas, options) => {
    const compile = eager.buildValidator(externalSchemas, options);
    return (route) => lazyValidator(() => compile(route));
  };
  const buildSerializer: BuildSerializer = (externalSchemas, options) => {
    const compile = eager.buildSerializer(externalSchemas, options);
    return (route) => lazySerializer(() => compile(route));
  };
  return { buildValidator, buildSerializer };
}
