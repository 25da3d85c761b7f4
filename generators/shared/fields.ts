/** The payload field types the generators understand. */
export type FieldType = 'string' | 'number' | 'integer' | 'boolean'

/** One payload field, parsed from `name:type` or `name:type?` (optional). */
export interface Field {
  readonly name: string
  readonly type: FieldType
  readonly optional: boolean
}

const FIELD_TYPES: readonly FieldType[] = ['string', 'number', 'integer', 'boolean']
const FIELD = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([A-Za-z]+)(\?)?$/

/** The zod expression of each type (strings are bounded like chat text). */
const ZOD: Record<FieldType, string> = {
  string: 'z.string().min(1).max(4000)',
  number: 'z.number()',
  integer: 'z.number().int()',
  boolean: 'z.boolean()',
}

/** Whether a fields answer means "no fields: I will edit the schema myself" (empty or `-`). */
export function isEmptyFields(spec: unknown): boolean {
  return spec === undefined || (typeof spec === 'string' && (spec.trim() === '' || spec.trim() === '-'))
}

/**
 * Parses a fields answer such as `text:string, count:integer?, done:boolean`: comma-separated
 * `name:type`, `?` after the type for optional. Empty or `-` gives no fields.
 * @param reserved field names that are taken (e.g. `kind` for notifications)
 * @throws Error with a message naming the offending entry.
 */
export function parseFields(spec: unknown, reserved: readonly string[] = []): Field[] {
  if (isEmptyFields(spec)) return []
  if (typeof spec !== 'string') {
    throw new Error(`fields: expected text such as "text:string, count:integer?", got ${JSON.stringify(spec)} (pass --fields=- for none)`)
  }
  if (spec.trim() === 'true') {
    throw new Error('fields: got "true", which is what a flag without a value gives (e.g. `--fields -`): write --fields=- for none, or quote the list')
  }
  const fields: Field[] = []
  for (const entry of spec.split(',').map(part => part.trim()).filter(part => part !== '')) {
    const match = FIELD.exec(entry)
    if (!match) throw new Error(`fields: ${JSON.stringify(entry)} is not name:type (e.g. text:string, count:integer?)`)
    const [, name = '', type = '', optional] = match
    if (!isFieldType(type)) throw new Error(`fields: ${JSON.stringify(entry)} has type "${type}"; expected one of ${FIELD_TYPES.join(', ')}`)
    if (name === '__proto__') throw new Error('fields: "__proto__" cannot name a field')
    if (reserved.includes(name)) throw new Error(`fields: "${name}" is reserved here; pick another name`)
    if (fields.some(field => field.name === name)) throw new Error(`fields: "${name}" appears twice`)
    fields.push({ name, type, optional: optional === '?' })
  }
  return fields
}

/** Like {@link parseFields}, as a prompt validator: true, or the message. */
export function checkFields(spec: unknown, reserved: readonly string[] = []): true | string {
  try {
    parseFields(spec, reserved)
    return true
  } catch (err) {
    return (err as Error).message
  }
}

/** The schema line of a field: `text: z.string().min(1).max(4000).optional(),` */
export function zodLine(field: Field): string {
  return `${field.name}: ${ZOD[field.type]}${field.optional ? '.optional()' : ''},`
}

/** A TypeScript literal of a valid sample value for the field (strings: `'sample <name>'`). */
export function sampleLiteral(field: Field): string {
  switch (field.type) {
    case 'string':
      return `'sample ${field.name}'`
    case 'number':
      return '1.5'
    case 'integer':
      return '1'
    case 'boolean':
      return 'true'
  }
}

/** A TypeScript object literal with a sample value for each field (optional ones too): `{ text: 'sample text' }`. */
export function sampleObjectLiteral(fields: readonly Field[]): string {
  if (fields.length === 0) return '{}'
  return `{ ${fields.map(field => `${field.name}: ${sampleLiteral(field)}`).join(', ')} }`
}

function isFieldType(type: string): type is FieldType {
  return (FIELD_TYPES as readonly string[]).includes(type)
}
