-- AlterTable
ALTER TABLE "notification" ADD COLUMN     "claimed_until" TIMESTAMPTZ(3);

