/** A room, as `GET /api/rooms` lists it. */
export interface Room {
  readonly id: string
  readonly name: string
  /** `room:{id}` */
  readonly channel: string
  readonly createdBy: string
  readonly createdAt: string
}

/** An HTTP API refusal: the server's `{ error: { code, message } }`, or a network failure (`code` `NETWORK`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Sends a JSON request to the app's API; resolves with the parsed answer. @throws ApiError */
async function call<T>(method: 'GET' | 'POST', path: string, token?: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached.')
  }
  const answer = (await response.json().catch(() => undefined)) as (T & { error?: { code: string; message: string } }) | undefined
  if (!response.ok || answer === undefined) {
    throw new ApiError(response.status, answer?.error?.code ?? 'INTERNAL', answer?.error?.message ?? `The server answered ${response.status}.`)
  }
  return answer
}

/**
 * A development token for `user` (`POST /api/dev/token`).
 * @throws ApiError; `NOT_FOUND` when the server runs in production (no development log-in).
 */
export async function devToken(user: string): Promise<{ token: string; user: string; exp: number }> {
  try {
    return await call('POST', '/api/dev/token', undefined, { user })
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      throw new ApiError(404, 'NOT_FOUND', 'This server has no development log-in (it runs in production): sign in with your own identity provider.')
    }
    throw error
  }
}

/** The rooms `token`'s user belongs to, the lobby first (`GET /api/rooms`). @throws ApiError */
export async function listRooms(token: string): Promise<Room[]> {
  return (await call<{ rooms: Room[] }>('GET', '/api/rooms', token)).rooms
}

/** Creates a room; the caller is a member (`POST /api/rooms`). @throws ApiError (`VALIDATION` for a bad name or member) */
export async function createRoom(token: string, name: string, members: string[]): Promise<Room & { members: string[] }> {
  return (await call<{ room: Room & { members: string[] } }>('POST', '/api/rooms', token, { name, members })).room
}
