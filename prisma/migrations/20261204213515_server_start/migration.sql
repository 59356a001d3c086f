-- CreateTable
CREATE TABLE "server_start" (
    "id" BIGSERIAL NOT NULL,
    "listening_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "server_start_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "server_start_listening_at_idx" ON "server_start"("listening_at");

