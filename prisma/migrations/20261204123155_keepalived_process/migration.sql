-- CreateTable
CREATE TABLE "keepalived_process" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "running" BOOLEAN NOT NULL,
    "event" TEXT NOT NULL,
    "pid" INTEGER,
    "vrrp_pid" INTEGER,
    "via" TEXT NOT NULL,
    "exit" TEXT,

    CONSTRAINT "keepalived_process_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "keepalived_process_cluster_id_ts_idx" ON "keepalived_process"("cluster_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "keepalived_process_agent_id_seq_key" ON "keepalived_process"("agent_id", "seq");

-- AddForeignKey
ALTER TABLE "keepalived_process" ADD CONSTRAINT "keepalived_process_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

