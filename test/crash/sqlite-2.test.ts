import { crashSuite } from './crash-suite.ts';

/** Crash consistency on SQLite: 7 more of the 21 kills per database (see sqlite-1.test.ts). */
crashSuite('sqlite', 7);
