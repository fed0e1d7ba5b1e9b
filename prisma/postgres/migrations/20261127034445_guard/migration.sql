-- CreateTable
CREATE TABLE "attempt_counters" (
    "key" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "window_start" DOUBLE PRECISION NOT NULL,
    "next_allowed_at" DOUBLE PRECISION NOT NULL,
    "locked_until" DOUBLE PRECISION NOT NULL,
    "level" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "attempt_counters_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "ip_bans" (
    "cidr" TEXT NOT NULL,
    "reason" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL,
    "expires_at" TIMESTAMP(3),

    CONSTRAINT "ip_bans_pkey" PRIMARY KEY ("cidr")
);

-- CreateIndex
CREATE INDEX "attempt_counters_updated_at_idx" ON "attempt_counters"("updated_at");
