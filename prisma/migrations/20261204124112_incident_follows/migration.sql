-- AlterTable
ALTER TABLE "incident" ADD COLUMN     "follows_id" BIGINT;

