// Retries through mesh:///: Istio/Envoy retryOn tokens and gRFC A44's gRPC statuses, a different
// endpoint per attempt, connect-level failures, per-try timeouts, replay of streamed requests,
// and A6/A44 commit rules (nothing is retried once the server has answered with headers or a
// message).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credentials, Metadata, status, type Client } from '@grpc/grpc-js';
import type { Mesh, RetryPolicy } from '@meshlet/core';
import { register } from '@meshlet/grpc';
import { EchoClient, startEchoServer, type EchoServer } from './helpers/echo-server.ts';
import { C, TARGET, cluster, deadPort, meshOf, service } from './helpers/xds.ts';
import { bidi, clientStream, serverStream, unary, unaryError } from './helpers/calls.ts';

const PREVIOUS_HOSTS = [{ name: 'envoy.retry_host_predicates.previous_hosts' }];
const retry = (retryOn: string, extra: Partial<RetryPolicy> = {}): RetryPolicy => ({
  retryOn, numRetries: 2, retryHostPredicate: PREVIOUS_HOSTS, hostSelectionRetryMaxAttempts: 5, retryBackOff: { baseInterval: '0.001s' }, ...extra,
});

let good1: EchoServer, good2: EchoServer, bad: EchoServer, slow: EchoServer;
beforeAll(async () => {
  good1 = await startEchoServer('good1');
  good2 = await startEchoServer('good2');
  bad = await startEchoServer('bad', { failWith: { code: status.UNAVAILABLE, details: 'bad is down' } });
  slow = await startEchoServer('slow', { delayMs: 400 });
});
afterAll(async () => { await Promise.all([good1, good2, bad, slow].map((s) => s.close())); });

let mesh: Mesh | undefined;
let client: Client | undefined;
afterEach(async () => {
  client?.close();
  await mesh?.close();
  client = mesh = undefined;
  for (const s of [good1, good2, bad, slow]) s.calls.length = 0;
  bad.behaviour = { failWith: { code: status.UNAVAILABLE, details: 'bad is down' } };
});

function connect(ports: number[], policy: RetryPolicy | undefined, lbPolicy: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' = 'ROUND_ROBIN'): Client {
  mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x'), ...(policy ? { retryPolicy: policy } : {}) } }]), cluster(C('x'), ports, lbPolicy)]);
  register(mesh);
  client = new EchoClient(TARGET, credentials.createInsecure());
  return client;
}

describe('retries', () => {
  it('ride over a failing server, each retry on another endpoint', async () => {
    const c = connect([bad.port, good1.port, good2.port], retry('unavailable'));
    const results = await Promise.all(Array.from({ length: 60 }, () => unary(c)));
    expect(results.every((r) => r.reply.server.startsWith('good'))).toBe(true);
    // Round robin sends a third of first attempts to `bad`; previous-host avoidance never sends
    // a call's retry back there, so `bad` sees each call at most once.
    expect(bad.calls.length).toBeGreaterThan(0);
    expect(bad.calls.length).toBeLessThanOrEqual(60);
    const retried = [...good1.calls, ...good2.calls].filter((c) => c.metadata['grpc-previous-rpc-attempts'] === '1');
    expect(retried.length).toBe(bad.calls.length);
    expect(results.filter((r) => r.headers?.get('grpc-previous-rpc-attempts')[0] === '1').length).toBe(bad.calls.length);
  });

  it('are off without a retry policy: the failure reaches the caller as the server sent it', async () => {
    const c = connect([bad.port], undefined);
    const err = await unaryError(c);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toBe('bad is down');
    expect(bad.calls.length).toBe(1);
  });

  it('retry only the statuses retryOn names (A44 tokens)', async () => {
    bad.behaviour = { failWith: { code: status.INTERNAL, details: 'boom' } };
    let c = connect([bad.port], retry('unavailable,cancelled'));
    expect((await unaryError(c)).code).toBe(status.INTERNAL);
    expect(bad.calls.length).toBe(1);
    client!.close();
    await mesh!.close();
    bad.calls.length = 0;
    c = connect([bad.port], retry('internal', { numRetries: 3 }));
    const err = await unaryError(c);
    expect(err.code).toBe(status.INTERNAL);
    expect(bad.calls.length).toBe(4);
    expect(err.metadata.get('grpc-previous-rpc-attempts')).toEqual(['3']);
  });

  it('retry connect failures (connect-failure, or unavailable as gRPC sees it) on another endpoint', async () => {
    const dead = await deadPort();
    const c = connect([dead, good1.port], retry('connect-failure'));
    const results = await Promise.all(Array.from({ length: 20 }, () => unary(c)));
    expect(results.every((r) => r.reply.server === 'good1')).toBe(true);
  });

  it('name the cluster and the attempts when no endpoint can be reached', async () => {
    const c = connect([await deadPort(), await deadPort()], retry('unavailable', { numRetries: 1 }));
    const err = await unaryError(c);
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/^meshlet: upstream connect error or disconnect\/reset before headers in cluster outbound\|9000\|x\|echo\.default\.svc\.cluster\.local after 2 attempt\(s\): connect to 127\.0\.0\.1:\d+ failed/);
    expect(err.metadata.get('meshlet-error')).toEqual(['MESHLET_UPSTREAM_FAILURE']);
  });

  it('bound each attempt by the per-try timeout and move to another endpoint', async () => {
    const c = connect([slow.port, good1.port], retry('5xx', { perTryTimeout: '0.05s' }));
    const results = await Promise.all(Array.from({ length: 10 }, () => unary(c)));
    // `slow` got calls and would have answered them (after 400 ms); every answer is good1's,
    // so each of those attempts was cut off by the per-try timeout and retried elsewhere.
    expect(results.every((r) => r.reply.server === 'good1')).toBe(true);
    expect(slow.calls.length).toBeGreaterThan(0);
  });

  it('report a per-try timeout that is not retried as DEADLINE_EXCEEDED naming the route and cluster', async () => {
    const c = connect([slow.port], retry('unavailable', { perTryTimeout: '0.05s' }));
    const err = await unaryError(c);
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toMatch(/per-try timeout of 50 ms \(route .*, cluster outbound\|9000\|x\|/);
  });

  it('replay a client stream to the next endpoint', async () => {
    const c = connect([bad.port, good1.port], retry('unavailable'), 'ROUND_ROBIN');
    for (let i = 0; i < 4; i++) expect(await clientStream(c, ['a', 'b', 'c'])).toMatchObject({ server: 'good1', text: 'a,b,c', count: 3 });
    // `bad` read the whole stream each time it was tried, and the replay still reached good1 intact.
    expect(bad.calls.length).toBeGreaterThan(0);
  });

  it('replay a 16 KiB unary request to the next endpoint byte for byte', async () => {
    // The replay buffer keeps a reference to the message grpc-js serialised, not a copy: what
    // the retry sends must still be exactly what the caller wrote.
    const c = connect([bad.port, good1.port], retry('unavailable'));
    const text = Array.from({ length: 16 * 1024 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    const results = await Promise.all(Array.from({ length: 8 }, () => unary(c, { text })));
    for (const r of results) expect(r.reply).toMatchObject({ server: 'good1', text });
    expect(bad.calls.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.headers?.get('grpc-previous-rpc-attempts')[0] === '1').length).toBe(bad.calls.length);
  });

  it('do not retry a request larger than the channel\'s grpc.per_rpc_retry_buffer_size (nothing was kept to replay)', async () => {
    mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x'), retryPolicy: retry('unavailable') } }]), cluster(C('x'), [bad.port])]);
    register(mesh);
    client = new EchoClient(TARGET, credentials.createInsecure(), { 'grpc.per_rpc_retry_buffer_size': 8 * 1024 });
    // A small request fits the buffer: first try and both retries reach `bad`.
    expect((await unaryError(client, { text: 'small' })).details).toBe('bad is down');
    expect(bad.calls.length).toBe(3);
    bad.calls.length = 0;
    // 16 KiB does not: the call makes its one attempt and the server's failure stands.
    const err = await unaryError(client, { text: 'y'.repeat(16 * 1024) });
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toBe('bad is down');
    expect(bad.calls.length).toBe(1);
  });

  it('retry a server stream that failed before its first message', async () => {
    const c = connect([bad.port, good1.port], retry('unavailable'));
    for (let i = 0; i < 4; i++) {
      const r = await serverStream(c, 3);
      expect(r.error).toBeUndefined();
      expect(r.replies.map((m) => m.server)).toEqual(['good1', 'good1', 'good1']);
    }
  });

  it('never retry a stream once a message has been received', async () => {
    bad.behaviour = { failWith: { code: status.UNAVAILABLE, details: 'died mid-stream' }, messagesBeforeFailure: 1 };
    const c = connect([bad.port, good1.port], retry('unavailable'));
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => serverStream(c, 3)));
    const failed = outcomes.filter((o) => o.error);
    expect(failed.length).toBe(bad.calls.length);
    for (const f of failed) {
      expect(f.error!.code).toBe(status.UNAVAILABLE);
      expect(f.error!.details).toBe('died mid-stream');
      expect(f.replies.map((m) => m.server)).toEqual(['bad']);
    }
    expect(good1.calls.length).toBe(6 - failed.length);
  });

  it('honour a server pushback that says not to retry', async () => {
    bad.behaviour = { failWith: { code: status.UNAVAILABLE, details: 'go away', pushbackMs: '-1' } };
    const c = connect([bad.port, good1.port], retry('unavailable'));
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => unary(c)));
    expect(results.filter((r) => r.status === 'rejected').length).toBe(bad.calls.length);
    expect(good1.calls.every((x) => x.metadata['grpc-previous-rpc-attempts'] === undefined)).toBe(true);
  });

  it('retry a bidi stream the server refused before answering, replaying what was sent', async () => {
    const c = connect([bad.port, good1.port], retry('unavailable'));
    for (let i = 0; i < 4; i++) {
      const replies = await bidi(c, ['x', 'y']);
      expect(replies.map((r) => `${r.server}:${r.text}`)).toEqual(['good1:x', 'good1:y']);
    }
    expect(bad.calls.length).toBeGreaterThan(0);
  });

  it('wait for a server that is not up yet when the caller asks for wait-for-ready', async () => {
    const port = await deadPort();
    const c = connect([port], undefined);
    // Without wait-for-ready the call fails at once...
    expect((await unaryError(c)).code).toBe(status.UNAVAILABLE);
    // ...with it, the call waits until the server appears.
    const pending = new Promise<string>((resolve, reject) => {
      (c as unknown as { unary(r: object, md: Metadata, o: object, cb: (e: Error | null, r?: { server: string }) => void): void })
        .unary({}, new Metadata({ waitForReady: true }), { deadline: Date.now() + 8000 }, (e, r) => (e ? reject(e) : resolve(r!.server)));
    });
    await new Promise((r) => setTimeout(r, 300));
    const late = await startEchoServer('late', {}, undefined, port);
    try {
      expect(await pending).toBe('late');
    } finally {
      await late.close();
    }
  });
});

describe('retry priority (retryRemoteLocalities → previous_priorities, update frequency 2)', () => {
  const PREVIOUS_PRIORITIES = {
    name: 'envoy.retry_priorities.previous_priorities',
    typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', updateFrequency: 2 },
  };
  // Priority 0 holds only the failing server; priority 1 a good one, which the original load
  // never reaches while priority 0 is healthy.
  function connectPriorities(policy: RetryPolicy): Client {
    const part = cluster(C('x'), [bad.port]);
    part.cla!.endpoints!.push({ priority: 1, lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: good1.port } } } }] });
    mesh = meshOf([service([{ match: { prefix: '/' }, route: { cluster: C('x'), retryPolicy: policy } }]), part]);
    register(mesh);
    client = new EchoClient(TARGET, credentials.createInsecure());
    return client;
  }

  it('the second retry leaves the tried priority, as over HTTP', async () => {
    const c = connectPriorities(retry('unavailable', { retryPriority: PREVIOUS_PRIORITIES }));
    const r = await unary(c);
    expect(r.reply.server).toBe('good1');
    expect(bad.calls.length).toBe(2);
    expect(good1.calls.length).toBe(1);
  });

  it('without it every attempt stays on priority 0', async () => {
    const c = connectPriorities(retry('unavailable'));
    expect((await unaryError(c)).code).toBe(status.UNAVAILABLE);
    expect(bad.calls.length).toBe(3);
    expect(good1.calls.length).toBe(0);
  });
});
