-- AlterTable
ALTER TABLE "resources" ADD COLUMN     "scope_descriptions" TEXT NOT NULL DEFAULT '{}';
