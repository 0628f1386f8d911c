// A SotW resend compared with the last response by runs of bytes (ResourceSpans#sameEnds) and
// by who holds each resource (LastResponse#heldAt): the unchanged resources at either end are
// found without a compare each, and a resource counts as unchanged only while its holder still
// holds the very bytes recorded for it.

import { describe, expect, it } from 'vitest';
import { encodeAny, encodeMessage } from '../src/xds/codec/index.ts';
import { DISCOVERY_RESPONSE, readSotwResponse, type ResourceSpans } from '../src/xds/discovery-envelope.ts';
import { LastResponse } from '../src/config/xds/last-response.ts';

const TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const OTHER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

/** An assignment named `n` (its endpoints differ with its suffix after '@'), or a cluster. */
function resource(n: string, type: string): { '@type': string } & Record<string, unknown> {
  const [name, port] = n.split('@');
  return type === TYPE
    ? { '@type': TYPE, clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: Number(port ?? 80) } } } }] }] }
    : { '@type': OTHER, name };
}

/** A response of resources named by `names`. */
function response(version: string, names: readonly string[], typeOf: (i: number) => string = () => TYPE): Uint8Array {
  return encodeMessage(DISCOVERY_RESPONSE, {
    versionInfo: version, typeUrl: TYPE, nonce: `n-${version}`,
    resources: names.map((n, i) => resource(n, typeOf(i))),
  });
}

function spans(bytes: Uint8Array): ResourceSpans {
  const r = readSotwResponse(bytes);
  if (!r.ok) throw new Error(r.error);
  return r.value.resources;
}

const names = (n: number, change: (i: number) => string | undefined = () => undefined): string[] =>
  Array.from({ length: n }, (_, i) => change(i) ?? `c${i}`);

describe('ResourceSpans#sameEnds', () => {
  it('finds every resource of an identical resend (under another version and nonce) at the head', () => {
    const a = spans(response('1', names(300)));
    const b = spans(response('2', names(300)));
    expect(b.sameEnds(a)).toEqual({ head: 300, tail: 0 });
  });

  it('stops at the one changed resource, whatever its position, and finds the rest at the tail', () => {
    const a = spans(response('1', names(300)));
    for (const at of [0, 1, 150, 298, 299]) {
      // A longer port varint, so the changed resource also changes size and shifts what follows.
      const b = spans(response('2', names(300, (i) => (i === at ? `c${i}@70000` : undefined))));
      expect(b.sameEnds(a)).toEqual({ head: at, tail: 299 - at });
    }
  });

  it('maps the tail from the end when resources were added or removed before it', () => {
    const a = spans(response('1', names(300)));
    const added = spans(response('2', [...names(100), 'new', ...names(300).slice(100)]));
    expect(added.sameEnds(a)).toEqual({ head: 100, tail: 200 });
    const removed = spans(response('2', [...names(100), ...names(300).slice(101)]));
    expect(removed.sameEnds(a)).toEqual({ head: 100, tail: 199 });
  });

  it('finds nothing in a reordered response, an empty one, or one whose type URL changed', () => {
    const a = spans(response('1', names(50)));
    expect(spans(response('2', names(50).reverse())).sameEnds(a)).toEqual({ head: 0, tail: 0 });
    expect(spans(response('2', [])).sameEnds(a)).toEqual({ head: 0, tail: 0 });
    expect(a.sameEnds(spans(response('2', [])))).toEqual({ head: 0, tail: 0 });
    const typed = spans(response('2', names(50), (i) => (i === 20 ? OTHER : TYPE)));
    expect(typed.sameEnds(a)).toEqual({ head: 20, tail: 29 });
  });

  it('reads each resource as the codec writes it alone: its type URL and value bytes', () => {
    const typeOf = (i: number) => (i % 5 === 0 ? OTHER : TYPE);
    const list = names(40, (i) => (i % 7 === 0 ? `c${i}@9000` : undefined));
    const s = spans(response('1', list, typeOf));
    expect(s.length).toBe(40);
    for (let i = 0; i < s.length; i++) {
      const any = encodeAny(resource(list[i]!, typeOf(i)));
      expect(s.typeUrlAt(i)).toBe(any.typeUrl);
      expect(Buffer.from(s.bytesAt(i))).toEqual(Buffer.from(any.value));
    }
  });
});

describe('LastResponse held resources', () => {
  it('counts a resource held only while its holder keeps the very bytes recorded for it', () => {
    const bytes = [Buffer.from('alpha'), Buffer.from('bravo')];
    const holders = [{ bytes: bytes[0] as Uint8Array | undefined }, { bytes: bytes[1] as Uint8Array | undefined }];
    const last = new LastResponse(['a', 'b'], bytes, holders);
    expect(last.heldAt(0)).toBe(holders[0]);
    expect(last.nameAt(1)).toBe('b');
    // Replaced by an equal copy (accepted again from another response): no longer the recorded bytes.
    holders[1]!.bytes = Buffer.from('bravo');
    expect(last.heldAt(1)).toBeUndefined();
    // Dropped (deleted, or does not exist any more).
    holders[0]!.bytes = undefined;
    expect(last.heldAt(0)).toBeUndefined();
    expect(new LastResponse(['a'], [bytes[0]!]).heldAt(0)).toBeUndefined();
  });

  it('compares a span of a new response with the bytes held', () => {
    const held = Buffer.from('bravo');
    const last = new LastResponse(['b'], [held], [{ bytes: held }]);
    const whole = Buffer.from('xxbravoyy');
    expect(last.holderAt(0, whole, 2, 7)).toBeDefined();
    expect(last.holderAt(0, whole, 1, 6)).toBeUndefined();
    expect(last.holderAt(0, whole, 2, 8)).toBeUndefined();
  });
});
