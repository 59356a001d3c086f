-- CreateTable
CREATE TABLE "keepalived_dump" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "source" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "instances" JSONB NOT NULL,

    CONSTRAINT "keepalived_dump_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "keepalived_dump_cluster_id_ts_idx" ON "keepalived_dump"("cluster_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "keepalived_dump_agent_id_seq_key" ON "keepalived_dump"("agent_id", "seq");

-- AddForeignKey
ALTER TABLE "keepalived_dump" ADD CONSTRAINT "keepalived_dump_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

