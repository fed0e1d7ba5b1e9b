import { readFileSync } from 'node:fs';
import t from 'tap';
import { RUNTIME_OPTIONS } from '../../src/config/runtime.ts';
import { DATABASE_KINDS } from '../helpers/databases.ts';
import { gatehouseDeployment } from '../helpers/gatehouse-process.ts';

// A server loads the client and driver of the database it runs on and not the other's: on
// PostgreSQL, SQLite's (@libsql/client alone is ~18 MB of resident memory); on SQLite, pg.
// The hook reports every driver module the process loads (ES modules and require alike), as it loads.
const REPORT_DRIVERS =
  'data:text/javascript,import m from "node:module";m.registerHooks({load(u,c,n){const d=/\\/node_modules\\/(pg|pg-pool|@libsql\\/client|@libsql\\/hrana-client|libsql|@prisma\\/adapter-libsql|@prisma\\/adapter-pg)\\//.exec(u);if(d)process.stderr.write("driver-module:"+d[1]+"\\n");return n(u,c);}});';

const driversIn = (output: string) => new Set([...output.matchAll(/^driver-module:(.+)$/gm)].map((m) => m[1]!));

for (const kind of DATABASE_KINDS) {
  t.test(`a server on ${kind} loads only ${kind}'s driver`, async (t) => {
    const gh = await gatehouseDeployment(t, kind);
    const server = await gh.start({}, [...RUNTIME_OPTIONS, '--import', REPORT_DRIVERS]);
    // Something through the database, so a driver loaded on first use would show too.
    t.equal((await fetch(`${server.url}/readyz`)).status, 200);
    t.equal((await fetch(`${server.url}/jwks`)).status, 200);
    const loaded = driversIn(server.process.output());
    // libsql's native library, as the kernel sees the process.
    const sqliteNative = readFileSync(`/proc/${server.pid}/maps`, 'utf8').includes('/node_modules/@libsql/');
    if (kind === 'postgres') {
      t.ok(loaded.has('pg') && loaded.has('@prisma/adapter-pg'), `pg and its adapter are loaded: ${[...loaded].join(', ')}`);
      t.same([...loaded].filter((d) => /libsql|hrana/.test(d)), [], 'no SQLite client, adapter or driver module');
      t.notOk(sqliteNative, "libsql's native library is not mapped");
    } else {
      t.ok(loaded.has('libsql') && loaded.has('@prisma/adapter-libsql'), `libsql and its adapter are loaded: ${[...loaded].join(', ')}`);
      t.same([...loaded].filter((d) => /^(pg|pg-pool|@prisma\/adapter-pg)$/.test(d)), [], 'no PostgreSQL module');
      t.ok(sqliteNative, "libsql's native library is mapped (what the PostgreSQL case looks for)");
    }
  });
}
