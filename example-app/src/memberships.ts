/**
 * Who belongs to which group (a room, a poll, …): the rule behind channels whose access is
 * "members". The app sets the implementation at start-up (`setMemberships`): the chat app uses
 * rooms/prisma-memberships.ts (PostgreSQL's `room_members`, a group being a room id). The default
 * keeps memberships in memory, for one process and for the generated channel tests.
 */
export interface Memberships {
  /** Whether `user` belongs to `group`. */
  isMember(group: string, user: string): Promise<boolean>
  /** Adds `user` to `group` (idempotent). */
  add(group: string, user: string): Promise<void>
  /** Removes `user` from `group` (idempotent). */
  remove(group: string, user: string): Promise<void>
}

/** Memberships kept in this process's memory. */
export class MemoryMemberships implements Memberships {
  private readonly groups = new Map<string, Set<string>>()

  async isMember(group: string, user: string): Promise<boolean> {
    return this.groups.get(group)?.has(user) ?? false
  }

  async add(group: string, user: string): Promise<void> {
    let members = this.groups.get(group)
    if (!members) this.groups.set(group, (members = new Set()))
    members.add(user)
  }

  async remove(group: string, user: string): Promise<void> {
    const members = this.groups.get(group)
    members?.delete(user)
    if (members?.size === 0) this.groups.delete(group)
  }
}

let current: Memberships = new MemoryMemberships()

/** The memberships in use: what channel authorizers call. */
export const memberships: Memberships = {
  isMember: (group, user) => current.isMember(group, user),
  add: (group, user) => current.add(group, user),
  remove: (group, user) => current.remove(group, user),
}

/** Replaces the implementation (e.g. with one backed by the database) for the whole app. */
export function setMemberships(implementation: Memberships): void {
  current = implementation
}
