import Fastify from 'fastify';
import t from 'tap';
import { lazyCompilersFactory, lazySerializer, lazyValidator } from '../../../src/http/lazy-schema-compilers.ts';

t.test('a lazy validator compiles on its first call, once, and hands fastify the errors of each call', async (t) => {
  let compiles = 0;
  const validate = lazyValidator(() => {
    compiles += 1;
    const inner = Object.assign((data: unknown) => {
      inner.errors = typeof data === 'string' ? null : [{ message: 'must be string' }];
      return typeof data === 'string';
    }, { errors: null as null | { message: string }[] });
    return inner;
  });
  t.equal(compiles, 0, 'nothing compiled before the first request');
  t.equal(validate(5), false);
  t.same(validate.errors, [{ message: 'must be string' }]);
  t.equal(validate('x'), true);
  t.equal(validate.errors, null, "a later call's errors replace the earlier ones");
  t.equal(compiles, 1, 'compiled once');
});

t.test('a lazy serializer compiles on its first call, once', async (t) => {
  let compiles = 0;
  const serialize = lazySerializer(() => {
    compiles += 1;
    return (doc: unknown) => JSON.stringify(doc);
  });
  t.equal(compiles, 0);
  t.equal(serialize({ a: 1 }), '{"a":1}');
  t.equal(serialize([1]), '[1]');
  t.equal(compiles, 1);
});

t.test('in fastify: the same 400 for bad input, the same serialized response (extra fields dropped), as with the eager compilers', async (t) => {
  for (const lazy of [true, false]) {
    const app = Fastify(lazy ? { schemaController: { compilersFactory: lazyCompilersFactory() } } : {});
    t.teardown(() => app.close());
    app.post('/x', {
      schema: {
        body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
        response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } },
      },
    }, async (request) => ({ ...(request.body as object), secret: 'never serialized' }));
    const bad = await app.inject({ method: 'POST', url: '/x', payload: { n: 'many' } });
    t.equal(bad.statusCode, 400, `${lazy ? 'lazy' : 'eager'}: refused`);
    t.match(bad.json(), { message: 'body/n must be integer' });
    const good = await app.inject({ method: 'POST', url: '/x', payload: { n: 3 } });
    t.equal(good.statusCode, 200);
    t.equal(good.body, '{"n":3}', `${lazy ? 'lazy' : 'eager'}: serialized by the schema`);
  }
});
