// undici's Dispatcher offers close() and destroy() each with a callback or a promise. The mesh's
// own dispatchers (MeshAgent, a cluster's EndpointPools) end in one place, shutdown(); this
// class maps the four call forms onto it once.

import { Dispatcher } from 'undici';

export abstract class ClosingDispatcher extends Dispatcher {
  /** Ends the dispatcher: gracefully (requests in flight finish), or forced with `err`. */
  protected abstract shutdown(err: Error | null, force: boolean): Promise<void>;

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.shutdown(null, false);
    if (!callback) return done;
    done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : a ?? null;
    const callback = typeof a === 'function' ? a : b;
    const done = this.shutdown(err, true);
    if (!callback) return done;
    done.then(callback, callback);
  }
}
