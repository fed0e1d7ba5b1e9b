import { crashSuite } from './crash-suite.ts';

/**
 * Crash consistency on PostgreSQL: 7 of the 21 kills per database, on a fresh database; postgres-2
 * and postgres-3 hold the others (split for tap's per-file limit, as sqlite-1.test.ts says).
 */
crashSuite('postgres', 7);
