// What a call has sent, kept so a retry can replay it (gRFC A6): every message and the
// half-close, until the call commits to one attempt or has sent more than the per-call limit
// (grpc.per_rpc_retry_buffer_size). While the buffer holds a message, the caller is told the
// write completed as soon as it is buffered (grpc-js's own retry layer does the same); once
// nothing can be replayed, writes pass straight to the open stream with the caller's callback.

import type { SubchannelCall } from './call-attempt.ts';

type MessageContext = Parameters<SubchannelCall['sendMessageWithContext']>[0];
const NO_CALLBACK: MessageContext = {};

interface Write {
  readonly message: Buffer;
  readonly context: MessageContext;
  /** The caller was told this write completed when it was buffered. */
  readonly acked: boolean;
}

export class ReplayBuffer {
  // Plain fields rather than #private ones, as the HTTP adapters' request-lifecycle.ts explains.
  private readonly limit: number;
  private writes: Write[] = [];
  private bytes = 0;
  /** May a later attempt still replay everything sent so far? */
  replayable = true;
  halfClosed = false;

  constructor(limitBytes: number) {
    this.limit = limitBytes;
  }

  /** Messages held now (for a mirror that starts late). */
  get messages(): readonly Buffer[] {
    return this.writes.map((w) => w.message);
  }

  /** A message from the caller; `open` is the live attempt's stream, if it has one. */
  write(context: MessageContext, message: Buffer, open: SubchannelCall | undefined): void {
    if (this.replayable) {
      this.bytes += message.length;
      // Too much to keep: whatever attempt carries this message is the last one.
      if (this.bytes > this.limit) this.replayable = false;
    }
    if (this.replayable) {
      this.writes.push({ message, context, acked: true });
      open?.sendMessageWithContext(NO_CALLBACK, message);
      // Acked now, not a tick later: the writer is grpc-js's own RetryingCall, which already
      // told the application on a tick of its own, and whose completion handler only moves its
      // cursor to the next buffered entry. Everything is handed on before the ack, so order holds.
      context.callback?.();
      return;
    }
    if (open) {
      // Everything held before went out when this stream opened.
      this.writes.length = 0;
      open.sendMessageWithContext(context, message);
      return;
    }
    this.writes.push({ message, context, acked: false });
  }

  halfClose(open: SubchannelCall | undefined): void {
    this.halfClosed = true;
    open?.halfClose();
  }

  /** A new attempt's stream opened: send it everything so far. */
  replayTo(call: SubchannelCall): void {
    const writes = this.writes;
    for (let i = 0; i < writes.length; i++) call.sendMessageWithContext(writes[i]!.acked ? NO_CALLBACK : writes[i]!.context, writes[i]!.message);
    // Copies are no longer needed once nothing can be replayed.
    if (!this.replayable) this.writes.length = 0;
    if (this.halfClosed) call.halfClose();
  }

  /** The call committed to one attempt: nothing will be replayed. */
  commit(): void {
    this.replayable = false;
    this.writes.length = 0;
    this.bytes = 0;
  }

  /** The call is over: callbacks of writes never sent are released so no writer waits forever. */
  clear(): void {
    const writes = this.writes;
    for (let i = 0; i < writes.length; i++) if (!writes[i]!.acked) writes[i]!.context.callback?.();
    writes.length = 0;
  }
}
