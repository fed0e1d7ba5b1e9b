/**
 * Runs `work` so that the database writes it makes commit together or not at all (one transaction),
 * so a failure half-way (a dropped connection, a killed process) leaves nothing half-written. Keep
 * slow work that is not the database's (password hashing, mail) outside it.
 */
export type UnitOfWork = <T>(work: () => Promise<T>) => Promise<T>;

/** For stores without transactions (the memory stores of unit tests). */
export const withoutTransaction: UnitOfWork = (work) => work();
