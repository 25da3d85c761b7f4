import { ApiError } from './api.js'
import { Chat } from './chat.js'
import { byId } from './dom.js'
import { isUserName } from './names.js'
import { loadSession, logIn, type Session } from './session.js'

/**
 * The chat page's entry (bundled with the client SDK into /app.js by the server): logs in with
 * a name (development tokens, kept in this tab's sessionStorage so two tabs can be two users),
 * then runs the {@link Chat}.
 */
function showChat(session: Session): void {
  byId('login-view').hidden = true
  byId('chat-view').hidden = false
  new Chat(session).start()
}

function showLogin(): void {
  const form = byId<HTMLFormElement>('login-form')
  const input = byId<HTMLInputElement>('login-name')
  const error = byId('login-error')
  byId('login-view').hidden = false
  input.focus()
  form.addEventListener('submit', event => {
    event.preventDefault()
    const name = input.value.trim()
    error.textContent = ''
    if (!isUserName(name)) {
      error.textContent = 'Pick a name of 1 to 32 letters, digits, _ or - (not "system").'
      input.focus()
      return
    }
    const submit = form.querySelector('button')
    if (submit) submit.disabled = true
    logIn(name).then(showChat, (failure: unknown) => {
      error.textContent = failure instanceof ApiError ? failure.message : 'Logging in failed.'
      if (submit) submit.disabled = false
      input.focus()
    })
  })
}

const session = loadSession()
if (session) showChat(session)
else showLogin()
document.documentElement.dataset['ready'] = 'true'
