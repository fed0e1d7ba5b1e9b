-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_resources" (
    "audience" TEXT NOT NULL PRIMARY KEY,
    "scopes" TEXT NOT NULL,
    "access_token_ttl" INTEGER,
    "description" TEXT,
    "scope_descriptions" TEXT NOT NULL DEFAULT '{}',
    "created_at" DATETIME NOT NULL
);
INSERT INTO "new_resources" ("access_token_ttl", "audience", "created_at", "description", "scopes") SELECT "access_token_ttl", "audience", "created_at", "description", "scopes" FROM "resources";
DROP TABLE "resources";
ALTER TABLE "new_resources" RENAME TO "resources";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
