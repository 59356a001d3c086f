-- CreateTable
CREATE TABLE "enrolment_code" (
    "id" SERIAL NOT NULL,
    "cluster_name" TEXT NOT NULL,
    "node_name" TEXT NOT NULL,
    "code_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "used_from" TEXT,
    "used_by_agent" UUID,
    "agent_token_id" INTEGER,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "enrolment_code_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "enrolment_code_code_hash_key" ON "enrolment_code"("code_hash");

-- CreateIndex
CREATE INDEX "enrolment_code_expires_at_idx" ON "enrolment_code"("expires_at");

-- AddForeignKey
ALTER TABLE "enrolment_code" ADD CONSTRAINT "enrolment_code_agent_token_id_fkey" FOREIGN KEY ("agent_token_id") REFERENCES "agent_token"("id") ON DELETE SET NULL ON UPDATE CASCADE;

