import { randomBytes } from 'node:crypto'
import type { PrismaClient } from '@switchboard/core/prisma'
import { LOBBY_ROOM_ID } from './room-access.js'

/** A room as the HTTP API shows it. */
export interface RoomSummary {
  /** The room id: the `{roomId}` of `room:{roomId}` and `typing:{roomId}`. */
  readonly id: string
  /** Its display name. */
  readonly name: string
  /** Its message channel, `room:<id>`. */
  readonly channel: string
  /** The user who created it (`system` for the lobby). */
  readonly createdBy: string
  /** When it was created (ISO 8601). */
  readonly createdAt: string
}

/** A room with its members (sorted), as `POST /api/rooms` answers. */
export interface RoomDetails extends RoomSummary {
  readonly members: readonly string[]
}

/** The lobby's row: everyone may use it without a membership row. */
const LOBBY = { id: LOBBY_ROOM_ID, name: 'Lobby', createdBy: 'system' } as const

/**
 * The rooms of the app in PostgreSQL (`rooms` and `room_members`): creating them, listing a
 * user's, and making sure the lobby exists.
 */
export class RoomDirectory {
  constructor(private readonly prisma: PrismaClient) {}

  /** Creates the lobby's row when missing (idempotent, safe from several nodes at once). */
  async ensureLobby(): Promise<void> {
    await this.prisma.room.createMany({ data: [LOBBY], skipDuplicates: true })
  }

  /**
   * Creates a room named `name` whose members are `createdBy` and `members` (duplicates
   * dropped), in one transaction. Its id is the name's slug and 12 random hex digits
   * (`design-team-3f9c2a71b0e4`), so it is readable in channel names and never guessed.
   */
  async create(input: { name: string; createdBy: string; members: readonly string[] }): Promise<RoomDetails> {
    const members = [...new Set([input.createdBy, ...input.members])].sort()
    const room = await this.prisma.room.create({
      data: {
        id: `${slug(input.name)}-${randomBytes(6).toString('hex')}`,
        name: input.name,
        createdBy: input.createdBy,
        members: { createMany: { data: members.map(userId => ({ userId })) } },
      },
    })
    return { ...summary(room), members }
  }

  /** The rooms `user` belongs to: the lobby first, then the others by creation time. */
  async listFor(user: string): Promise<RoomSummary[]> {
    const rooms = await this.prisma.room.findMany({
      where: { OR: [{ id: LOBBY_ROOM_ID }, { members: { some: { userId: user } } }] },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    })
    return rooms.map(summary).sort((a, b) => Number(b.id === LOBBY_ROOM_ID) - Number(a.id === LOBBY_ROOM_ID))
  }
}

function summary(room: { id: string; name: string; createdBy: string; createdAt: Date }): RoomSummary {
  return { id: room.id, name: room.name, channel: `room:${room.id}`, createdBy: room.createdBy, createdAt: room.createdAt.toISOString() }
}

/** Lower-case ASCII letters and digits of `name` joined by `-`, at most 32 characters; `room` when none. */
function slug(name: string): string {
  const words = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 32)
    .replace(/^-+|-+$/g, '')
  return words === '' ? 'room' : words
}
