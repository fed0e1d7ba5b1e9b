-- AlterTable
ALTER TABLE "clients" ADD COLUMN "previous_secret_expires_at" DATETIME;
ALTER TABLE "clients" ADD COLUMN "previous_secret_hash" TEXT;

-- AlterTable
ALTER TABLE "resources" ADD COLUMN "description" TEXT;
