-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "cluster" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "settings" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "cluster_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "node" (
    "id" SERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "token_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3),

    CONSTRAINT "node_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_token" (
    "id" SERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "label" TEXT NOT NULL DEFAULT '',
    "token_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "agent_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent" (
    "id" UUID NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "token_id" INTEGER NOT NULL,
    "version" TEXT NOT NULL DEFAULT '',
    "hostname" TEXT NOT NULL DEFAULT '',
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seq" BIGINT NOT NULL DEFAULT 0,
    "skew_ms" INTEGER,

    CONSTRAINT "agent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "log_record" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "source" TEXT NOT NULL,
    "cursor" TEXT,
    "inode" BIGINT,
    "offset" BIGINT,
    "ident" TEXT,
    "pid" INTEGER,
    "line" TEXT NOT NULL,

    CONSTRAINT "log_record_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vip_observation" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "addresses" JSONB NOT NULL,

    CONSTRAINT "vip_observation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "config_snapshot" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "path" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "instances" JSONB NOT NULL,
    "errors" JSONB NOT NULL DEFAULT '[]',

    CONSTRAINT "config_snapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_gap" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(6) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "from_seq" BIGINT NOT NULL,
    "to_seq" BIGINT NOT NULL,
    "dropped" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,

    CONSTRAINT "agent_gap_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_session" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "connected_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "disconnected_at" TIMESTAMPTZ(3),

    CONSTRAINT "agent_session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "state_change" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "node_id" INTEGER NOT NULL,
    "instance" TEXT NOT NULL,
    "vrid" INTEGER,
    "state" TEXT NOT NULL,
    "ts" TIMESTAMPTZ(6) NOT NULL,
    "log_record_id" BIGINT NOT NULL,

    CONSTRAINT "state_change_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "incident" (
    "id" BIGSERIAL NOT NULL,
    "cluster_id" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "vrid" INTEGER,
    "instances" JSONB NOT NULL DEFAULT '{}',
    "nodes" TEXT[],
    "opened_at" TIMESTAMPTZ(6) NOT NULL,
    "closed_at" TIMESTAMPTZ(6),
    "cause_code" TEXT NOT NULL,
    "cause_summary" TEXT NOT NULL,
    "evidence" JSONB NOT NULL DEFAULT '[]',
    "dedup_key" TEXT NOT NULL,
    "silenced" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "incident_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "cluster_name_key" ON "cluster"("name");

-- CreateIndex
CREATE UNIQUE INDEX "node_cluster_id_name_key" ON "node"("cluster_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "agent_token_token_hash_key" ON "agent_token"("token_hash");

-- CreateIndex
CREATE INDEX "agent_node_id_idx" ON "agent"("node_id");

-- CreateIndex
CREATE INDEX "log_record_cluster_id_ts_idx" ON "log_record"("cluster_id", "ts");

-- CreateIndex
CREATE INDEX "log_record_node_id_ts_idx" ON "log_record"("node_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "log_record_agent_id_seq_key" ON "log_record"("agent_id", "seq");

-- CreateIndex
CREATE INDEX "vip_observation_cluster_id_ts_idx" ON "vip_observation"("cluster_id", "ts");

-- CreateIndex
CREATE INDEX "vip_observation_node_id_ts_idx" ON "vip_observation"("node_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "vip_observation_agent_id_seq_key" ON "vip_observation"("agent_id", "seq");

-- CreateIndex
CREATE INDEX "config_snapshot_cluster_id_ts_idx" ON "config_snapshot"("cluster_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "config_snapshot_agent_id_seq_key" ON "config_snapshot"("agent_id", "seq");

-- CreateIndex
CREATE INDEX "agent_gap_cluster_id_ts_idx" ON "agent_gap"("cluster_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "agent_gap_agent_id_seq_key" ON "agent_gap"("agent_id", "seq");

-- CreateIndex
CREATE INDEX "agent_session_cluster_id_last_seen_at_idx" ON "agent_session"("cluster_id", "last_seen_at");

-- CreateIndex
CREATE INDEX "agent_session_node_id_connected_at_idx" ON "agent_session"("node_id", "connected_at");

-- CreateIndex
CREATE UNIQUE INDEX "state_change_log_record_id_key" ON "state_change"("log_record_id");

-- CreateIndex
CREATE INDEX "state_change_cluster_id_ts_idx" ON "state_change"("cluster_id", "ts");

-- CreateIndex
CREATE INDEX "state_change_node_id_instance_ts_idx" ON "state_change"("node_id", "instance", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "incident_dedup_key_key" ON "incident"("dedup_key");

-- CreateIndex
CREATE INDEX "incident_cluster_id_opened_at_idx" ON "incident"("cluster_id", "opened_at");

-- CreateIndex
CREATE INDEX "incident_closed_at_idx" ON "incident"("closed_at");

-- AddForeignKey
ALTER TABLE "node" ADD CONSTRAINT "node_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_token" ADD CONSTRAINT "agent_token_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent" ADD CONSTRAINT "agent_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent" ADD CONSTRAINT "agent_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "log_record" ADD CONSTRAINT "log_record_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vip_observation" ADD CONSTRAINT "vip_observation_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "config_snapshot" ADD CONSTRAINT "config_snapshot_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_gap" ADD CONSTRAINT "agent_gap_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_session" ADD CONSTRAINT "agent_session_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "state_change" ADD CONSTRAINT "state_change_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "incident" ADD CONSTRAINT "incident_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

