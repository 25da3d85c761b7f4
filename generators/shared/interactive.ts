/**
 * Whether prompts may be asked: stdin is a terminal. Without one (CI, scripts, tests) a prompt
 * not answered on the command line is skipped and takes its default, instead of printing the
 * question and waiting (plop would hang, or exit 130 when stdin ends). Used as each prompt's
 * `when` (a boolean: plop refuses to bypass prompts whose `when` is a function).
 */
export const interactive: boolean = process.stdin.isTTY === true
