// One budget of time per turn of the event loop for all the config work that runs in slices
// (a response being decoded and applied, the subscription walk, a snapshot being published):
// without it each worker took its own slice in the same turn, and their sum was the pause a
// request arriving meanwhile waited out. Each worker still takes at least one step per turn,
// so none starves; the budget only bounds how many more it takes.

/** Longest run of sliced config work before the event loop gets a turn (ms). */
const SLICE_MS = 4;

let deadline = 0;
let open = false;

/** Runs `job` one step, then on while this turn's budget lasts; true once the job is done. */
export function runSlice(job: Generator<void, unknown>): boolean {
  const deadline = turnDeadline();
  let step = job.next();
  while (!step.done && performance.now() <= deadline) step = job.next();
  return step.done === true;
}

/** The time (performance.now()) by which sliced work in this turn should stop. */
function turnDeadline(): number {
  if (!open) {
    open = true;
    deadline = performance.now() + SLICE_MS;
    // The budget closes at the next check phase: work started after it gets a fresh one.
    setImmediate(() => {
      open = false;
    });
  }
  return deadline;
}
