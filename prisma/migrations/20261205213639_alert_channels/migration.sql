-- AlterTable
ALTER TABLE "webhook" ADD COLUMN     "min_severity" TEXT NOT NULL DEFAULT 'info',
ADD COLUMN     "secret" TEXT,
ADD COLUMN     "settings" JSONB NOT NULL DEFAULT '{}';

