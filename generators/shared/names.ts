/** kebab-case: lower-case letters and digits, words joined by single hyphens (`poll`, `chat-room`). */
export const KEBAB_CASE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/

/** Words that cannot name a generated thing: JavaScript's reserved words and strict-mode restrictions. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'arguments', 'await', 'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default',
  'delete', 'do', 'else', 'enum', 'eval', 'export', 'extends', 'false', 'finally', 'for', 'function',
  'if', 'implements', 'import', 'in', 'instanceof', 'interface', 'let', 'new', 'null', 'package',
  'private', 'protected', 'public', 'return', 'static', 'super', 'switch', 'this', 'throw', 'true',
  'try', 'typeof', 'var', 'void', 'while', 'with', 'yield',
])

/**
 * Checks a generator name (the folder name): kebab-case, starting with a letter, and not a
 * reserved word in kebab or camel form.
 * @returns true, or the message to show (it names `what` and the value).
 */
export function checkKebabName(name: unknown, what: string): true | string {
  if (typeof name !== 'string' || name === '') return `${what} is required: pass --name <kebab-case>, e.g. --name chat-room`
  if (/^[0-9]/.test(name)) return `${what} ${JSON.stringify(name)} must start with a letter (a-z), not a digit`
  if (!KEBAB_CASE.test(name)) {
    return `${what} ${JSON.stringify(name)} is not kebab-case: use lower-case letters and digits, words joined by "-" (e.g. poll, chat-room)`
  }
  if (RESERVED_WORDS.has(name) || RESERVED_WORDS.has(camelCase(name))) {
    return `${what} ${JSON.stringify(name)} is a JavaScript reserved word: pick another (e.g. ${name}-item)`
  }
  return true
}

/** `chat-room` → `chatRoom`. */
export function camelCase(kebab: string): string {
  return kebab.replace(/-([a-z0-9])/g, (_match, next: string) => next.toUpperCase())
}

/** `chat-room` → `ChatRoom`. */
export function pascalCase(kebab: string): string {
  const camel = camelCase(kebab)
  return camel.charAt(0).toUpperCase() + camel.slice(1)
}
