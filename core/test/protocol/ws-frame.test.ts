import t from 'tap'
import * as wsModule from 'ws'
import { wsFrame } from '../../src/protocol/ws-frame.js'

type FrameFn = (data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }) => Buffer[]
const wsSenderFrame = (wsModule as unknown as { Sender: { frame: FrameFn } }).Sender.frame

t.test('wsFrame › the same bytes as ws’s own sender for every header size, text and binary', async (t) => {
  for (const length of [0, 1, 125, 126, 127, 65_535, 65_536, 70_001]) {
    const text = 'é'.repeat(Math.floor(length / 2)) + 'a'.repeat(length % 2)
    const bytes = Buffer.from(text)
    t.equal(bytes.length, length)
    for (const binary of [false, true]) {
      const expected = Buffer.concat(wsSenderFrame(bytes, { fin: true, rsv1: false, opcode: binary ? 2 : 1, mask: false, readOnly: false }))
      t.same(wsFrame(binary ? new Uint8Array(bytes) : text, binary), expected, `${length} bytes, ${binary ? 'binary' : 'text'}`)
    }
  }
})

t.test('wsFrame › a string payload is written as UTF-8 and measured in bytes, not characters', async (t) => {
  const frame = wsFrame('😀', false)
  t.same([...frame], [0x81, 4, 0xf0, 0x9f, 0x98, 0x80])
})
