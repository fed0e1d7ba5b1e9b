-- AlterTable
ALTER TABLE "one_time_tokens" ADD COLUMN "data" TEXT;
