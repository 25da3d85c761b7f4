import type { PrismaClient } from '@switchboard/core/prisma'
import type { Memberships } from '../memberships.js'

/**
 * Room memberships in PostgreSQL (`room_members`, see prisma/schema.prisma): a group is a room
 * id. Every node of a deployment sees the same memberships. Each call is one indexed query.
 */
export class PrismaMemberships implements Memberships {
  constructor(private readonly prisma: PrismaClient) {}

  async isMember(group: string, user: string): Promise<boolean> {
    const row = await this.prisma.roomMember.findUnique({ where: { roomId_userId: { roomId: group, userId: user } }, select: { userId: true } })
    return row !== null
  }

  /** Adds `user` to room `group` (idempotent). Rejects when the room does not exist (foreign key). */
  async add(group: string, user: string): Promise<void> {
    await this.prisma.roomMember.createMany({ data: [{ roomId: group, userId: user }], skipDuplicates: true })
  }

  async remove(group: string, user: string): Promise<void> {
    await this.prisma.roomMember.deleteMany({ where: { roomId: group, userId: user } })
  }
}
