-- AlterTable
ALTER TABLE "cluster" ADD COLUMN     "feed_pos" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "feed_rx" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "cluster_feed" (
    "cluster_id" INTEGER NOT NULL,
    "pos" BIGINT NOT NULL,
    "node_id" INTEGER NOT NULL,
    "agent_id" UUID NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "seq_from" BIGINT NOT NULL,
    "seq_to" BIGINT NOT NULL,
    "origin" TEXT NOT NULL,

    CONSTRAINT "cluster_feed_pkey" PRIMARY KEY ("cluster_id","pos")
);

-- CreateTable
CREATE TABLE "socket_io_attachments" (
    "id" BIGSERIAL NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload" BYTEA,

    CONSTRAINT "socket_io_attachments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "cluster_feed_received_at_idx" ON "cluster_feed"("received_at");

-- CreateIndex
CREATE INDEX "agent_session_last_seen_at_idx" ON "agent_session"("last_seen_at");

-- AddForeignKey
ALTER TABLE "cluster_feed" ADD CONSTRAINT "cluster_feed_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

