// What a call has sent, kept so a retry can replay it (gRFC A6): every message and the
// half-close, until the call commits to one attempt or has sent more than the per-call limit
// (grpc.per_rpc_retry_buffer_size). While the buffer holds a message, the caller is told the
// write completed as soon as it is buffered (grpc-js's own retry layer does the same); once
// nothing can be replayed, writes pass straight to the open stream with the caller's callback.
// Holding a message keeps a reference, never a copy: a 16 KiB message costs what a small one does.
// A unary call sends one message: it is kept in a field, and only a stream's further messages
// need an array.

import type { SubchannelCall } from './call-attempt.ts';

type MessageContext = Parameters<SubchannelCall['sendMessageWithContext']>[0];
const NO_CALLBACK: MessageContext = {};

/** A write the caller has not been told about yet: sent with its callback when a stream opens. */
interface Waiting {
  readonly message: Buffer;
  readonly context: MessageContext;
}

export class ReplayBuffer {
  // Plain fields rather than #private ones, as the HTTP adapters' request-lifecycle.ts explains.
  private readonly limit: number;
  /** The first message acked when it was buffered, and the ones after it (replayed without callbacks). */
  private first: Buffer | undefined = undefined;
  private more: Buffer[] | undefined = undefined;
  /**
   * Writes that came when nothing could be replayed any more and no stream was open yet (a
   * fault delay, a connect): they follow the acked ones, and keep their callbacks.
   */
  private waiting: Waiting[] | undefined = undefined;
  private bytes = 0;
  /** May a later attempt still replay everything sent so far? */
  replayable = true;
  halfClosed = false;

  constructor(limitBytes: number) {
    this.limit = limitBytes;
  }

  /** Messages held now, in order (for a mirror that starts late). */
  get messages(): readonly Buffer[] {
    const out: Buffer[] = [];
    if (this.first) out.push(this.first);
    if (this.more) out.push(...this.more);
    if (this.waiting) for (const w of this.waiting) out.push(w.message);
    return out;
  }

  /** A message from the caller; `open` is the live attempt's stream, if it has one. */
  write(context: MessageContext, message: Buffer, open: SubchannelCall | undefined): void {
    if (this.replayable) {
      this.bytes += message.length;
      // Too much to keep: whatever attempt carries this message is the last one.
      if (this.bytes > this.limit) this.replayable = false;
    }
    if (this.replayable) {
      if (this.first === undefined) this.first = message;
      else (this.more ??= []).push(message);
      open?.sendMessageWithContext(NO_CALLBACK, message);
      // Acked now, not a tick later: the writer is grpc-js's own RetryingCall, which already
      // told the application on a tick of its own, and whose completion handler only moves its
      // cursor to the next buffered entry. Everything is handed on before the ack, so order holds.
      context.callback?.();
      return;
    }
    if (open) {
      // Everything held before went out when this stream opened.
      this.drop();
      open.sendMessageWithContext(context, message);
      return;
    }
    (this.waiting ??= []).push({ message, context });
  }

  halfClose(open: SubchannelCall | undefined): void {
    this.halfClosed = true;
    open?.halfClose();
  }

  /** A new attempt's stream opened: send it everything so far. */
  replayTo(call: SubchannelCall): void {
    if (this.first) call.sendMessageWithContext(NO_CALLBACK, this.first);
    const more = this.more;
    if (more) for (let i = 0; i < more.length; i++) call.sendMessageWithContext(NO_CALLBACK, more[i]!);
    const waiting = this.waiting;
    if (waiting) for (let i = 0; i < waiting.length; i++) call.sendMessageWithContext(waiting[i]!.context, waiting[i]!.message);
    // Copies are no longer needed once nothing can be replayed.
    if (!this.replayable) this.drop();
    if (this.halfClosed) call.halfClose();
  }

  /**
   * The call will make one attempt only (its route retries nothing): nothing needs keeping. What
   * came before (during a fault delay) still goes to that attempt when its stream opens.
   */
  noReplay(): void {
    this.replayable = false;
  }

  /** The call committed to one attempt: nothing will be replayed. */
  commit(): void {
    this.replayable = false;
    this.drop();
    this.bytes = 0;
  }

  /** The call is over: callbacks of writes never sent are released so no writer waits forever. */
  clear(): void {
    const waiting = this.waiting;
    if (waiting) for (let i = 0; i < waiting.length; i++) waiting[i]!.context.callback?.();
    this.drop();
  }

  private drop(): void {
    this.first = undefined;
    this.more = undefined;
    this.waiting = undefined;
  }
}
