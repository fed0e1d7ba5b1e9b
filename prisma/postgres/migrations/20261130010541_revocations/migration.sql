-- CreateTable
CREATE TABLE "revocations" (
    "kind" TEXT NOT NULL,
    "ref" TEXT NOT NULL,
    "not_before" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "revocations_pkey" PRIMARY KEY ("kind","ref")
);

-- CreateIndex
CREATE INDEX "revocations_created_at_idx" ON "revocations"("created_at");
