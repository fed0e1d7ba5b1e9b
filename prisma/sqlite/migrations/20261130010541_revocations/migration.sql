-- CreateTable
CREATE TABLE "revocations" (
    "kind" TEXT NOT NULL,
    "ref" TEXT NOT NULL,
    "not_before" DATETIME,
    "created_at" DATETIME NOT NULL,

    PRIMARY KEY ("kind", "ref")
);

-- CreateIndex
CREATE INDEX "revocations_created_at_idx" ON "revocations"("created_at");
