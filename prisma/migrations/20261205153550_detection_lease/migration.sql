-- CreateTable
CREATE TABLE "detection_lease" (
    "cluster_id" INTEGER NOT NULL,
    "epoch" BIGINT NOT NULL,
    "holder" TEXT NOT NULL,
    "taken_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "detection_lease_pkey" PRIMARY KEY ("cluster_id")
);

-- AddForeignKey
ALTER TABLE "detection_lease" ADD CONSTRAINT "detection_lease_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

