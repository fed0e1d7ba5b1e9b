-- CreateTable
CREATE TABLE "attempt_counters" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "count" INTEGER NOT NULL,
    "window_start" REAL NOT NULL,
    "next_allowed_at" REAL NOT NULL,
    "locked_until" REAL NOT NULL,
    "level" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" REAL NOT NULL
);

-- CreateTable
CREATE TABLE "ip_bans" (
    "cidr" TEXT NOT NULL PRIMARY KEY,
    "reason" TEXT,
    "created_at" DATETIME NOT NULL,
    "expires_at" DATETIME
);

-- CreateIndex
CREATE INDEX "attempt_counters_updated_at_idx" ON "attempt_counters"("updated_at");
