import { crashSuite } from './crash-suite.ts';

/**
 * Crash consistency on the embedded default (SQLite): 7 of the 21 kills per database, on a fresh
 * deployment; sqlite-2 and sqlite-3 hold the others. Three files rather than one: every kill costs a
 * server start (and the cycle a CLI run), and each file must stay well inside tap's per-file limit on
 * a loaded machine.
 */
crashSuite('sqlite', 7);
