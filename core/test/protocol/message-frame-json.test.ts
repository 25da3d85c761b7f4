import t from 'tap'
import type { StoredMessageJson } from '../../src/engines/store.js'
import { messageFrameJson } from '../../src/protocol/message-frame-json.js'

/** The frame the generic path sends for the same message: its data parsed, then the whole frame stringified. */
const generic = (m: StoredMessageJson): string => {
  const { dataJson, ...rest } = m
  return JSON.stringify({ type: 'message', ...rest, data: JSON.parse(dataJson) as unknown })
}

const base: StoredMessageJson = { channel: 'room:lobby', seq: 7, epoch: 'e1f2', mid: '0193f1a2-7c3d-7e4f-8a9b-0c1d2e3f4a5b', from: 'alice', dataJson: '{"text": "hi"}', ts: 1_764_151_234_567.123 }

t.test('messageFrameJson', async (t) => {
  t.test('is the message frame: same keys in the same order, data spliced in as given', async (t) => {
    const text = messageFrameJson(base)
    t.equal(text, '{"type":"message","channel":"room:lobby","seq":7,"epoch":"e1f2","mid":"0193f1a2-7c3d-7e4f-8a9b-0c1d2e3f4a5b","from":"alice","data":{"text": "hi"},"ts":1764151234567.123}')
    t.same(Object.keys(JSON.parse(text) as object), ['type', 'channel', 'seq', 'epoch', 'mid', 'from', 'data', 'ts'])
  })

  t.test('strings that JSON must escape stay the same strings; any JSON data reads back equal', async (t) => {
    const odd = ['a"b', 'c\\d', 'line\nbreak', '\u0001', 'ü✓😀', '</script>', '\u2028']
    const datas: unknown[] = [null, 0, -1.5, 1e21, 'text "quoted" \\ here', [1, [2, { x: null }]], { nested: { deep: ['ü', '\t'] } }, true]
    for (const s of odd) {
      for (const data of datas) {
        const m: StoredMessageJson = { ...base, channel: `room:${s}`, epoch: s, mid: s, from: s, dataJson: JSON.stringify(data, null, 1) }
        const text = messageFrameJson(m)
        t.same(JSON.parse(text), JSON.parse(generic(m)), `string ${odd.indexOf(s)} with data ${datas.indexOf(data)}`)
      }
    }
  })
})
