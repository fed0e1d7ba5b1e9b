import { crashSuite } from './crash-suite.ts';

/** Crash consistency on PostgreSQL: 7 more of the 21 kills per database (see postgres-1.test.ts). */
crashSuite('postgres', 7);
