-- AlterTable
ALTER TABLE "agent_token" ADD COLUMN     "node_name" TEXT;

