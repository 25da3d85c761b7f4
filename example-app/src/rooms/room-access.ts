import { memberships } from '../memberships.js'

/** The id of the room everyone belongs to: `room:lobby`. */
export const LOBBY_ROOM_ID = 'lobby'

/**
 * Whether `user` may read and write room `roomId` (its `room:` and `typing:` channels, its
 * history, its mentions): everyone in the lobby, the members elsewhere (memberships.ts; in
 * PostgreSQL's `room_members` once the app runs).
 */
export async function canUseRoom(roomId: string, user: string): Promise<boolean> {
  return roomId === LOBBY_ROOM_ID || memberships.isMember(roomId, user)
}
