// What a call keeps for replay, with no network: the buffer's own contract, read through the
// messages it hands an attempt's stream. A stream here is a recorder of what it was sent (the
// buffer only ever calls sendMessageWithContext and halfClose on it); retries.test.ts drives the
// same buffer through real servers.

import { describe, expect, it } from 'vitest';
import type { SubchannelCall } from '../src/call-attempt.ts';
import { ReplayBuffer } from '../src/call-replay-buffer.ts';

type Sent = { message: Buffer; acked: boolean } | 'half-close';

function stream(): { call: SubchannelCall; sent: Sent[] } {
  const sent: Sent[] = [];
  const call = {
    sendMessageWithContext(context: { callback?: () => void }, message: Buffer) {
      const entry = { message, acked: false };
      sent.push(entry);
      // The transport acks once the bytes are written: here, at once.
      if (context.callback) {
        entry.acked = true;
        context.callback();
      }
    },
    halfClose() {
      sent.push('half-close');
    },
  } as unknown as SubchannelCall;
  return { call, sent };
}

const KIB16 = 16 * 1024;
const LIMIT = 1 << 20;

describe('ReplayBuffer', () => {
  it('replays a 16 KiB message to the next stream as the same bytes, held by reference rather than copied', () => {
    const buffer = new ReplayBuffer(LIMIT);
    const message = Buffer.alloc(KIB16, 'y');
    const first = stream();
    let acks = 0;
    buffer.write({ callback: () => acks++ }, message, first.call);
    buffer.halfClose(first.call);
    // The caller is told at once; the stream gets the message with no callback of its own.
    expect(acks).toBe(1);
    expect(first.sent).toEqual([{ message, acked: false }, 'half-close']);
    expect(buffer.messages).toHaveLength(1);
    expect(buffer.messages[0]).toBe(message);

    const second = stream();
    buffer.replayTo(second.call);
    expect(second.sent).toHaveLength(2);
    expect((second.sent[0] as { message: Buffer }).message).toBe(message);
    expect(second.sent[1]).toBe('half-close');
    expect(buffer.replayable).toBe(true);

    buffer.commit();
    expect(buffer.messages).toHaveLength(0);
  });

  it('keeps nothing when the call makes one attempt: the write passes to the stream with the caller\'s callback', () => {
    const buffer = new ReplayBuffer(LIMIT);
    buffer.noReplay();
    const open = stream();
    const message = Buffer.alloc(KIB16, 'z');
    let acks = 0;
    buffer.write({ callback: () => acks++ }, message, open.call);
    expect(buffer.messages).toHaveLength(0);
    // Acked by the stream (the transport's write), not by the buffer.
    expect(open.sent).toEqual([{ message, acked: true }]);
    expect(acks).toBe(1);
  });

  it('holds writes that arrive before any stream opens on a one-attempt call, and hands them over (with their callbacks) when it does', () => {
    const buffer = new ReplayBuffer(LIMIT);
    buffer.noReplay();
    const a = Buffer.alloc(KIB16, 'a');
    const b = Buffer.alloc(KIB16, 'b');
    let acks = 0;
    buffer.write({ callback: () => acks++ }, a, undefined);
    buffer.write({ callback: () => acks++ }, b, undefined);
    buffer.halfClose(undefined);
    expect(acks).toBe(0);
    const open = stream();
    buffer.replayTo(open.call);
    expect(open.sent).toEqual([{ message: a, acked: true }, { message: b, acked: true }, 'half-close']);
    expect(acks).toBe(2);
    // Handed over: nothing stays behind for a replay that cannot happen.
    expect(buffer.messages).toHaveLength(0);
  });

  it('stops keeping messages once more than the per-call limit was sent, and drops what it held', () => {
    const buffer = new ReplayBuffer(KIB16 + 100);
    const open = stream();
    const first = Buffer.alloc(KIB16, 'p');
    const second = Buffer.alloc(KIB16, 'q');
    buffer.write({}, first, open.call);
    expect(buffer.replayable).toBe(true);
    let acked = false;
    buffer.write({ callback: () => { acked = true; } }, second, open.call);
    expect(buffer.replayable).toBe(false);
    expect(buffer.messages).toHaveLength(0);
    expect(open.sent).toEqual([{ message: first, acked: false }, { message: second, acked: true }]);
    expect(acked).toBe(true);
  });
});
