import t from 'tap'
import { DispatchPool, deadlineOf, type TaskDeadline } from '../../src/dispatch/dispatch-pool.js'
import { SwitchboardError } from '../../src/errors.js'

/** A promise with its resolve and reject exposed, so tests decide when tasks finish. */
function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason)
  return new Promise(resolve => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }))
}

/** Lets every queued microtask (promise callback) run, without waiting on any timer. */
function settle(): Promise<void> {
  return new Promise(resolve => setImmediate(resolve))
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter(name => name === 'Timeout').length
}

/** Long enough never to fire in tests that are not about deadlines. */
const LONG = 60_000
const TIMEOUT = { name: 'SwitchboardError', code: 'TIMEOUT' }

t.test('DispatchPool', async t => {
  t.test('runs at most `concurrency` tasks at once and queues the rest', async t => {
    const pool = new DispatchPool({ concurrency: 2, queueCap: 10, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const gates = Array.from({ length: 5 }, () => deferred<number>())
    let active = 0
    let peak = 0
    const results = gates.map((gate, i) =>
      pool.run(async () => {
        active++
        peak = Math.max(peak, active)
        const value = await gate.promise
        active--
        return value * 10 + i
      }),
    )
    t.equal(pool.running, 2)
    t.equal(pool.queued, 3)
    for (const [i, gate] of gates.entries()) {
      gate.resolve(i)
      await settle()
    }
    t.same(await Promise.all(results), [0, 11, 22, 33, 44])
    t.equal(peak, 2, 'never more than two at once')
    t.equal(pool.running, 0)
    t.equal(pool.queued, 0)
  })

  t.test('starts queued tasks in FIFO order', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 10, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const started: number[] = []
    const first = deferred()
    const runs = [pool.run(() => first.promise)]
    for (let i = 1; i <= 5; i++) runs.push(pool.run(() => void started.push(i)))
    t.same(started, [], 'nothing else starts while the slot is taken')
    first.resolve()
    await Promise.all(runs)
    t.same(started, [1, 2, 3, 4, 5])
  })

  t.test('rejects with OVERLOADED at once when queueCap tasks wait, and never runs the task', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 2, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const gate = deferred()
    const accepted = [pool.run(() => gate.promise), pool.run(() => 'q1'), pool.run(() => 'q2')]
    let ran = false
    await t.rejects(
      pool.run(() => {
        ran = true
      }),
      { name: 'SwitchboardError', code: 'OVERLOADED' },
    )
    t.equal(pool.queued, 2)
    gate.resolve()
    t.same(await Promise.all(accepted), [undefined, 'q1', 'q2'])
    await settle()
    t.notOk(ran)
  })

  t.test('with queueCap 0 only free slots accept work', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 0, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const gate = deferred()
    const busy = pool.run(() => gate.promise)
    await t.rejects(pool.run(() => 1), { code: 'OVERLOADED' })
    gate.resolve()
    await busy
    t.equal(await pool.run(() => 2), 2)
  })

  t.test('rejects with TIMEOUT at the deadline and aborts the signal with that error', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: 20 })
    t.teardown(() => pool.close())
    let signal: AbortSignal | undefined
    const run = pool.run(deadline => {
      signal = deadline.signal
      return aborted(deadline.signal).then(() => 'finished after abort')
    })
    const error = await run.catch((e: unknown) => e)
    t.match(error, TIMEOUT)
    t.ok(signal?.aborted, 'the signal aborted')
    t.equal(signal?.reason, error, 'its reason is the same TIMEOUT error')
    t.ok((error as SwitchboardError).retryable)
  })

  t.test('rejects with TIMEOUT even when the task ignores the signal', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: 20 })
    t.teardown(() => pool.close())
    const never = deferred()
    await t.rejects(pool.run(() => never.promise), TIMEOUT)
    never.resolve()
    t.ok(await pool.drain(LONG))
  })

  t.test('holds the slot of a timed-out task until that task settles', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 5, deadlineMs: 30 })
    t.teardown(() => pool.close())
    const runaway = deferred()
    await t.rejects(pool.run(() => runaway.promise), TIMEOUT)
    t.equal(pool.running, 1, 'the runaway still counts')
    let started = false
    // Submitted and released in the same tick: the next task starts on a microtask, before any
    // timer (its own deadline included) can fire, however slow the machine.
    const next = pool.run(() => {
      started = true
      return 'next'
    })
    t.equal(pool.queued, 1)
    t.notOk(started, 'nothing starts while the runaway holds the slot')
    runaway.resolve()
    t.equal(await next, 'next')
    t.ok(started)
  })

  t.test('never starts a queued task whose deadline passed', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 5, deadlineMs: 20 })
    t.teardown(() => pool.close())
    const blocker = deferred()
    const first = pool.run(() => blocker.promise).catch((e: unknown) => e)
    let ran = false
    await t.rejects(
      pool.run(() => {
        ran = true
      }),
      TIMEOUT,
    )
    t.equal(pool.queued, 0, 'the expired task left the queue')
    t.match(await first, TIMEOUT, 'the running blocker timed out too')
    blocker.resolve()
    t.ok(await pool.drain(LONG))
    t.notOk(ran)
  })

  t.test('propagates errors thrown by tasks unchanged', async t => {
    const pool = new DispatchPool({ concurrency: 2, queueCap: 2, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const sync = new Error('thrown')
    const async = new TypeError('rejected')
    const coded = new SwitchboardError('FORBIDDEN', 'not a member')
    t.equal(
      await pool.run(() => {
        throw sync
      }).catch((e: unknown) => e),
      sync,
    )
    t.equal(await pool.run(() => Promise.reject(async)).catch((e: unknown) => e), async)
    t.equal(await pool.run(async () => {
      throw coded
    }).catch((e: unknown) => e), coded)
    t.equal(pool.running, 0, 'failed tasks free their slot')
  })

  t.test('works through a long queue of synchronous tasks without deep recursion', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 5_000, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const gate = deferred()
    const first = pool.run(() => gate.promise)
    const rest = Array.from({ length: 5_000 }, (_, i) =>
      pool.run(() => {
        if (i % 2) throw new Error(`task ${i}`)
        return i
      }).catch(() => -1),
    )
    gate.resolve()
    await first
    const results = await Promise.all(rest)
    t.equal(results.filter(r => r >= 0).length, 2_500)
    t.equal(pool.running + pool.queued, 0)
  })

  t.test('drain', async t => {
    t.test('resolves true at once when idle', async t => {
      const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: LONG })
      t.equal(await pool.drain(LONG), true)
    })

    t.test('resolves true once running and queued tasks are done', async t => {
      const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: LONG })
      t.teardown(() => pool.close())
      const gate = deferred()
      const runs = [pool.run(() => gate.promise), pool.run(() => 'after')]
      let drained: boolean | undefined
      const draining = pool.drain(LONG).then(result => (drained = result))
      await settle()
      t.equal(drained, undefined, 'still waiting')
      gate.resolve()
      t.equal(await draining, true)
      t.same(await Promise.all(runs), [undefined, 'after'])
    })

    t.test('resolves false when the timeout passes first', async t => {
      const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: LONG })
      const gate = deferred()
      const run = pool.run(() => gate.promise)
      t.equal(await pool.drain(20), false)
      gate.resolve()
      await run
      t.equal(await pool.drain(LONG), true)
    })
  })

  t.test('close', async t => {
    t.test('rejects queued tasks with CLOSED without running them, and refuses new ones', async t => {
      const pool = new DispatchPool({ concurrency: 1, queueCap: 5, deadlineMs: LONG })
      const gate = deferred()
      const running = pool.run(() => gate.promise).catch((e: unknown) => e)
      let ran = false
      const queued = pool.run(() => {
        ran = true
      })
      pool.close()
      await t.rejects(queued, { name: 'SwitchboardError', code: 'CLOSED' })
      await t.rejects(pool.run(() => 1), { code: 'CLOSED' })
      t.equal(pool.queued, 0)
      t.match(await running, { code: 'CLOSED' }, 'the running task was abandoned')
      gate.resolve()
      t.equal(await pool.drain(LONG), true)
      t.notOk(ran)
    })

    t.test('abandons running tasks: their signal aborts and callers get CLOSED at once', async t => {
      const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: LONG })
      const runaway = deferred()
      let signal: AbortSignal | undefined
      const run = pool.run(deadline => {
        signal = deadline.signal
        return runaway.promise
      })
      pool.close()
      await t.rejects(run, { code: 'CLOSED' })
      t.match(signal?.reason, { code: 'CLOSED' })
      t.equal(pool.running, 1, 'the task keeps its slot until it settles')
      runaway.resolve()
      t.equal(await pool.drain(LONG), true)
    })

    t.test('is idempotent', async t => {
      const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: LONG })
      pool.close()
      t.doesNotThrow(() => pool.close())
      await t.rejects(pool.run(() => 1), { code: 'CLOSED' })
    })
  })

  t.test('leaves no timers behind', async t => {
    const before = activeTimers()
    const pool = new DispatchPool({ concurrency: 1, queueCap: 10, deadlineMs: LONG })
    await Promise.all([pool.run(() => 1), pool.run(async () => 2), pool.run(() => Promise.reject(new Error('x'))).catch(() => 0)])
    t.equal(activeTimers(), before, 'settled tasks cleared their deadlines')

    const gate = deferred()
    const pending = [pool.run(() => gate.promise), pool.run(() => 3)].map(p => p.catch(() => undefined))
    const draining = pool.drain(LONG)
    t.ok(activeTimers() > before)
    pool.close()
    gate.resolve()
    t.equal(await draining, true)
    await Promise.all(pending)
    t.equal(activeTimers(), before, 'close and drain cleared every timer')
  })

  t.test('rejects bad options with CONFIG_INVALID', async t => {
    for (const options of [
      { concurrency: 0, queueCap: 1, deadlineMs: 1 },
      { concurrency: 1.5, queueCap: 1, deadlineMs: 1 },
      { concurrency: 1, queueCap: -1, deadlineMs: 1 },
      { concurrency: 1, queueCap: 1, deadlineMs: 0 },
      { concurrency: 1, queueCap: 1, deadlineMs: Number.NaN },
    ]) {
      t.throws(() => new DispatchPool(options), { code: 'CONFIG_INVALID' }, JSON.stringify(options))
    }
  })
})

t.test('DispatchPool › deadlines', async t => {
  t.test('a deadline read after it passed: aborted, throws TIMEOUT, and a signal made then is already aborted', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: 20 })
    t.teardown(() => pool.close())
    const gate = deferred()
    let seen: TaskDeadline | undefined
    const run = pool.run(deadline => {
      seen = deadline
      return gate.promise
    })
    const error = await run.catch((e: unknown) => e)
    t.match(error, TIMEOUT)
    t.equal(seen?.aborted, true)
    t.throws(() => seen?.throwIfAborted(), TIMEOUT)
    t.equal(seen?.signal.aborted, true, 'the signal, made after the deadline, is aborted')
    t.equal(seen?.signal.reason, error, 'with the caller’s error')
    gate.resolve()
  })

  t.test('calls made apart each expire, in deadline order (one timer serves them all)', async t => {
    const pool = new DispatchPool({ concurrency: 3, queueCap: 3, deadlineMs: 40 })
    t.teardown(() => pool.close())
    const never = deferred()
    const order: number[] = []
    const first = pool.run(() => never.promise).catch(() => order.push(1))
    await new Promise(resolve => setTimeout(resolve, 15))
    const second = pool.run(() => never.promise).catch(() => order.push(2))
    const quick = pool.run(() => 'quick')
    t.equal(await quick, 'quick', 'a call that settles in time is not touched')
    await Promise.all([first, second])
    t.same(order, [1, 2], 'both expired, in deadline order')
    never.resolve()
  })

  t.test('deadlineOf › a signal’s deadline follows it; no signal never passes', async t => {
    const controller = new AbortController()
    const deadline = deadlineOf(controller.signal)
    t.equal(deadline.aborted, false)
    t.doesNotThrow(() => deadline.throwIfAborted())
    controller.abort(new Error('stop'))
    t.equal(deadline.aborted, true)
    t.throws(() => deadline.throwIfAborted(), { message: 'stop' })
    const never = deadlineOf()
    t.equal(never.aborted, false)
    t.equal(never.signal.aborted, false)
    t.not(never.signal, never.signal, 'a fresh signal each time, so listeners added to one are not kept')
  })
})

t.test('DispatchPool › submit (the callback form the router uses)', async t => {
  /** Records every answer of a submit call, with the context it came with. */
  function recorder() {
    const answers: { context: string; failed: boolean; outcome: unknown }[] = []
    const answered = deferred()
    const answer = (context: string, failed: boolean, outcome: unknown): void => {
      answers.push({ context, failed, outcome })
      answered.resolve()
    }
    return { answers, answer, answered: answered.promise }
  }

  t.test('runs the task with its context and answers once, never from inside submit', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const { answers, answer, answered } = recorder()
    const seen: string[] = []
    const refused = pool.submit((context: string) => {
      seen.push(context)
      return `${context}!`
    }, 'a', answer)
    t.equal(refused, undefined, 'accepted')
    t.same(seen, ['a'], 'a free slot starts the task at once')
    t.same(answers, [], 'but the answer comes later')
    await answered
    await settle()
    t.same(answers, [{ context: 'a', failed: false, outcome: 'a!' }])
  })

  t.test('a task that throws is answered as failed with that error, on a later microtask', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: LONG })
    t.teardown(() => pool.close())
    const { answers, answer, answered } = recorder()
    const boom = new Error('boom')
    pool.submit(() => {
      throw boom
    }, 'x', answer)
    t.same(answers, [])
    await answered
    t.equal(answers.length, 1)
    t.equal(answers[0]!.failed, true)
    t.equal(answers[0]!.outcome, boom)
  })

  t.test('refuses at once with OVERLOADED or CLOSED, and then never runs the task or answers', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 0, deadlineMs: LONG })
    const gate = deferred()
    const { answers, answer } = recorder()
    let ran = 0
    t.equal(pool.submit(() => gate.promise, 'first', answer), undefined)
    const overloaded = pool.submit(() => void ran++, 'second', answer)
    t.match(overloaded, { name: 'SwitchboardError', code: 'OVERLOADED' })
    pool.close()
    const closed = pool.submit(() => void ran++, 'third', answer)
    t.match(closed, { name: 'SwitchboardError', code: 'CLOSED' })
    gate.resolve()
    await settle()
    t.equal(ran, 0, 'refused tasks never ran')
    t.same(
      answers.map(a => [a.context, (a.outcome as SwitchboardError).code]),
      [['first', 'CLOSED']],
      'only the accepted call was answered (CLOSED, by close)',
    )
  })

  t.test('a deadline answers TIMEOUT once, and the late outcome of the task is dropped', async t => {
    const pool = new DispatchPool({ concurrency: 1, queueCap: 1, deadlineMs: 20 })
    t.teardown(() => pool.close())
    const { answers, answer, answered } = recorder()
    const gate = deferred<string>()
    let deadline: TaskDeadline | undefined
    pool.submit((_context: string, d) => {
      deadline = d
      return gate.promise
    }, 'slow', answer)
    await answered
    t.match(answers, [{ context: 'slow', failed: true, outcome: TIMEOUT }])
    t.equal(deadline?.aborted, true, 'the running task sees its deadline pass')
    gate.resolve('late')
    await pool.drain(LONG)
    t.equal(answers.length, 1, 'answered once')
  })
})

t.test('DispatchPool › a call submitted from inside a TIMEOUT answer gets its own deadline and leaves no timer behind', async t => {
  const before = activeTimers()
  const pool = new DispatchPool({ concurrency: 2, queueCap: 2, deadlineMs: 30 })
  const gates = [deferred(), deferred()]
  const answers: string[] = []
  const second = deferred()
  pool.submit(() => gates[0]!.promise, 'first', (context, failed, outcome) => {
    answers.push(`${context}: ${(outcome as SwitchboardError).code}`)
    // As the router does: the answer hands the connection's next frame to the pool at once.
    pool.submit(() => gates[1]!.promise, 'second', (c, f, o) => {
      answers.push(`${c}: ${(o as SwitchboardError).code}`)
      second.resolve()
    })
  })
  await second.promise
  t.same(answers, ['first: TIMEOUT', 'second: TIMEOUT'], 'the call made during the sweep timed out too, at its own deadline')
  pool.close()
  for (const gate of gates) gate.resolve()
  await pool.drain(LONG)
  t.equal(activeTimers(), before, 'no deadline timer is left once closed')
})
