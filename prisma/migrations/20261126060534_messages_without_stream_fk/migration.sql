-- The append statement creates or bumps a message's stream row before inserting it, so the key
-- only added a per-row check (about a third of the append's execution time). See docs/storage.md.
-- DropForeignKey
ALTER TABLE "messages" DROP CONSTRAINT "messages_channel_fkey";
