import t from 'tap'
import { mentionedNames } from '../src/channels/room/mentions.js'

t.test('mentionedNames › @names in order, once each, not inside words or e-mail addresses', async t => {
  t.same(mentionedNames('@bob hi @alice, @bob again'), ['bob', 'alice'])
  t.same(mentionedNames('mail bob@example.com or @carol.'), ['carol'])
  t.same(mentionedNames('(@dave) @e_f-g! @@h @' + 'x'.repeat(33)), ['dave', 'e_f-g'])
  t.same(mentionedNames('no mentions'), [])
  t.same(mentionedNames('@system @bob'), ['bob'], 'reserved names are never notified')
})
