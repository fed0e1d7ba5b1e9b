/** True for "this row already exists" from either database, through Prisma or a driver adapter. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; meta?: { driverAdapterError?: { cause?: { kind?: string } } }; message?: string };
  if (e?.code === 'P2002') return true;
  if (e?.meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation') return true;
  return /unique constraint/i.test(e?.message ?? '');
}
