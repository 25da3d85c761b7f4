/** The users generated tests connect as, in order; params that name users take these values. */
export const SAMPLE_USERS: readonly string[] = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']

/** A user who has no access anywhere. */
export const OUTSIDER = 'mallory'

/** The `index`-th sample user (`user9`, `user10`, … past the named ones). */
export function sampleUser(index: number): string {
  return SAMPLE_USERS[index] ?? `user${index + 1}`
}
