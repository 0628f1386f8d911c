// The controller a caller holds for a whole mesh request. Each attempt has its own connection
// controller; this one forwards pause/resume/abort to whichever attempt is live, so
// backpressure and cancellation keep working across retries (undici's RetryHandler solves the
// same problem the same way).

import type { Dispatcher } from 'undici';

type Controller = Dispatcher.DispatchController;

/** The controller the caller holds for the whole request; it steers whichever attempt is live. */
export class OuterController implements Controller {
  #target: Controller | null = null;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  #onAbort: (reason: Error) => void;

  constructor(onAbort: (reason: Error) => void) {
    this.#onAbort = onAbort;
  }

  set target(t: Controller | null) {
    this.#target = t;
    if (t && this.#paused) t.pause();
  }

  get aborted() { return this.#aborted; }
  get paused() { return this.#paused; }
  get reason() { return this.#reason; }
  pause() { this.#paused = true; this.#target?.pause(); }
  resume() { this.#paused = false; this.#target?.resume(); }
  /**
   * The request is over: there is nothing left to steer. A caller may keep this controller
   * long after (the response body holds it), so it lets go of the attempt and the request.
   */
  release() {
    this.#target = null;
    this.#onAbort = ignore;
  }

  abort(reason: Error) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#target?.abort(reason);
    this.#onAbort(reason);
  }
}

function ignore(): void {}
