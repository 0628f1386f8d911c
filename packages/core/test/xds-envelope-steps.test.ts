// The ADS client's large-response paths that run in steps or skip the generic codec: the
// envelope read in steps, resource_names written directly, and one does-not-exist timer for
// all the watches a request started.

import { describe, expect, it } from 'vitest';
import { encodeAny, encodeMessage } from '../src/xds/codec/index.ts';
import { DISCOVERY_REQUEST, DISCOVERY_RESPONSE, DELTA_DISCOVERY_RESPONSE, encodeResourceNames, readDeltaResponse, readDeltaResponseSteps, readSotwSpansSteps } from '../src/xds/discovery-envelope.ts';
import { RequestTimer, ResourceWatch } from '../src/config/xds/resource-watch-state.ts';

const TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
const cla = (i: number) => ({ '@type': TYPE, clusterName: `c${i}` });

function run<T>(g: Generator<void, T>): { value: T; yields: number } {
  let yields = 0;
  for (;;) {
    const r = g.next();
    if (r.done) return { value: r.value, yields };
    yields++;
  }
}

describe('ADS envelope read in steps', () => {
  it('a 2,000-resource SotW response is read in several steps, nothing lost across them', () => {
    const bytes = encodeMessage(DISCOVERY_RESPONSE, { versionInfo: 'v1', typeUrl: TYPE, nonce: 'n1', resources: Array.from({ length: 2000 }, (_, i) => cla(i)) });
    const stepped = run(readSotwSpansSteps(bytes));
    expect(stepped.yields).toBeGreaterThanOrEqual(3);
    const whole = stepped.value;
    expect(whole.ok && whole.value.resources.length).toBe(2000);
    expect(whole.ok && [whole.value.versionInfo, whole.value.nonce, whole.value.typeUrl]).toEqual(['v1', 'n1', TYPE]);
    // The last resource whole, as the codec writes it on its own: nothing lost across the steps.
    const last = encodeAny(cla(1999));
    expect(whole.ok && [whole.value.resources.typeUrlAt(1999), Buffer.from(whole.value.resources.bytesAt(1999))]).toEqual([last.typeUrl, Buffer.from(last.value)]);
  });

  it('a delta response with 2,000 resources and 2,000 removals steps through both lists', () => {
    const bytes = encodeMessage(DELTA_DISCOVERY_RESPONSE, {
      systemVersionInfo: 's', typeUrl: TYPE, nonce: 'n',
      resources: Array.from({ length: 2000 }, (_, i) => ({ name: `c${i}`, version: '1', resource: cla(i) })),
      removedResources: Array.from({ length: 2000 }, (_, i) => `gone${i}`),
    });
    const stepped = run(readDeltaResponseSteps(bytes));
    expect(stepped.yields).toBeGreaterThanOrEqual(6);
    expect(stepped.value).toEqual(readDeltaResponse(bytes));
    expect(stepped.value.ok && stepped.value.value.removedResources[1999]).toBe('gone1999');
  });

  it('a truncated response is still an error, not a partial result', () => {
    const bytes = encodeMessage(DISCOVERY_RESPONSE, { typeUrl: TYPE, resources: Array.from({ length: 600 }, (_, i) => cla(i)) });
    const r = run(readSotwSpansSteps(bytes.subarray(0, bytes.length - 3))).value;
    expect(r.ok).toBe(false);
  });
});

describe('resource_names written directly', () => {
  it('gives the codec\'s bytes for ASCII, multi-byte and long names', () => {
    const names = ['', 'a', 'outbound|8080||svc-1.ns-1.svc.cluster.local', 'ünïcödé-名前', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(20_000)];
    expect(Buffer.from(encodeResourceNames(names))).toEqual(Buffer.from(encodeMessage(DISCOVERY_REQUEST, { resourceNames: names })));
    expect(encodeResourceNames([]).byteLength).toBe(0);
  });
});

describe('one does-not-exist timer per request', () => {
  it('expires the watches still waiting, not those that settled', async () => {
    const watches = ['a', 'b', 'c'].map((n) => new ResourceWatch(TYPE, n));
    const expired: string[] = [];
    const timer = new RequestTimer(30, (w) => expired.push(w.name));
    for (const w of watches) timer.add(w);
    watches[1]!.accept({}, '1', Date.now());
    expect(watches[1]!.timer).toBeUndefined();
    await new Promise((r) => setTimeout(r, 120));
    expect(expired).toEqual(['a', 'c']);
  });

  it('stops once every watch has settled', async () => {
    const watches = ['a', 'b'].map((n) => new ResourceWatch(TYPE, n));
    const expired: string[] = [];
    const timer = new RequestTimer(30, (w) => expired.push(w.name));
    for (const w of watches) timer.add(w);
    watches[0]!.accept({}, '1', Date.now());
    watches[1]!.markDoesNotExist(Date.now());
    await new Promise((r) => setTimeout(r, 120));
    expect(expired).toEqual([]);
  });
});
