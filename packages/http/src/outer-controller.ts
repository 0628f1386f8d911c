// The controller a caller holds for a whole mesh request. Each attempt has its own connection
// controller; this one forwards pause/resume/abort to whichever attempt is live, so
// backpressure and cancellation keep working across retries (undici's RetryHandler solves the
// same problem the same way). Plain fields rather than getters and #private ones, as in
// request-lifecycle.ts: it is read on every chunk of every response.

import type { Dispatcher } from 'undici';

type Controller = Dispatcher.DispatchController;

/** Told when the caller aborts: the request (MeshRequest), until it is over. */
export interface AbortListener {
  callerAborted(reason: Error): void;
}

/** The controller the caller holds for the whole request; it steers whichever attempt is live. */
export class OuterController implements Controller {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  private target: Controller | null = null;
  declare private listener: AbortListener | null;

  constructor(listener: AbortListener) {
    this.listener = listener;
  }

  /** The live attempt's controller, from its response on. */
  steer(t: Controller): void {
    this.target = t;
    if (this.paused) t.pause();
  }

  pause() { this.paused = true; this.target?.pause(); }
  resume() { this.paused = false; this.target?.resume(); }

  /**
   * The request is over: there is nothing left to steer. A caller may keep this controller
   * long after (the response body holds it), so it lets go of the attempt and the request.
   */
  release() {
    this.target = null;
    this.listener = null;
  }

  abort(reason: Error) {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.target?.abort(reason);
    this.listener?.callerAborted(reason);
  }
}
