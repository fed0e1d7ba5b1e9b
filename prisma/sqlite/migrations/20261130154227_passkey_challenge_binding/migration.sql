-- CreateIndex
CREATE INDEX "passkey_challenges_binding_purpose_idx" ON "passkey_challenges"("binding", "purpose");
