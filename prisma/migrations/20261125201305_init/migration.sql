-- CreateTable
CREATE TABLE "streams" (
    "channel" TEXT NOT NULL,
    "epoch" TEXT NOT NULL DEFAULT (gen_random_uuid())::text,
    "seq" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "streams_pkey" PRIMARY KEY ("channel")
);

-- CreateTable
CREATE TABLE "messages" (
    "channel" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "mid" UUID NOT NULL,
    "from_user" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "idem_key" VARCHAR(128),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("channel","seq")
);

-- CreateTable
CREATE TABLE "cursors" (
    "channel" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cursors_pkey" PRIMARY KEY ("channel","user_id")
);

-- CreateTable
CREATE TABLE "dead_letters" (
    "id" BIGSERIAL NOT NULL,
    "channel" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "user_id" TEXT NOT NULL,
    "mid" UUID NOT NULL,
    "reason" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rooms" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rooms_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "room_members" (
    "room_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "joined_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "room_members_pkey" PRIMARY KEY ("room_id","user_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "messages_mid_key" ON "messages"("mid");

-- CreateIndex
CREATE UNIQUE INDEX "messages_channel_idem_key_key" ON "messages"("channel", "idem_key");

-- CreateIndex
CREATE UNIQUE INDEX "dead_letters_channel_seq_user_id_key" ON "dead_letters"("channel", "seq", "user_id");

-- CreateIndex
CREATE INDEX "room_members_user_id_idx" ON "room_members"("user_id");

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_channel_fkey" FOREIGN KEY ("channel") REFERENCES "streams"("channel") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cursors" ADD CONSTRAINT "cursors_channel_fkey" FOREIGN KEY ("channel") REFERENCES "streams"("channel") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "room_members" ADD CONSTRAINT "room_members_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;

