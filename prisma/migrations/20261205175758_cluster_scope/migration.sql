-- AlterTable
ALTER TABLE "app_user" ADD COLUMN     "all_clusters" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "clusters" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "api_token" ADD COLUMN     "all_clusters" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "clusters" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "wall_token" ADD COLUMN     "all_clusters" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "clusters" TEXT[] DEFAULT ARRAY[]::TEXT[];

