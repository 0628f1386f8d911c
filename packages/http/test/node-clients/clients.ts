// The clients of the compatibility matrix, each wired to the mesh the way its users would:
// node:http clients with MeshHttpAgent as their agent, undici with MeshAgent as its
// dispatcher, fetch (and axios's fetch adapter) through the global dispatcher. Each client
// reports HTTP statuses as replies (its own retries and status errors off, so the mesh's
// behaviour is what is measured) and transport failures as its own errors.

import http from 'node:http';
import axios from 'axios';
import got from 'got';
import nodeFetch from 'node-fetch';
import superagent from 'superagent';
import { request as undiciRequest } from 'undici';
import type { Mesh } from '@meshlet/core';
import { installGlobalDispatcher, MeshAgent, MeshHttpAgent } from '@meshlet/http';

export interface Reply {
  status: number;
  body: string;
}

export interface MatrixClient {
  readonly name: string;
  /**
   * Can the mesh send this client's request again? undici and fetch hand MeshAgent the whole
   * request; a node:http ClientRequest is written once, so only what fails before it is sent
   * (connect failures) is retried.
   */
  readonly replays: boolean;
  setup(mesh: Mesh): Promise<void>;
  teardown(): Promise<void>;
  send(url: string, headers?: Record<string, string>): Promise<Reply>;
}

function withMeshHttpAgent(name: string, send: (agent: MeshHttpAgent, url: string, headers: Record<string, string>) => Promise<Reply>): MatrixClient {
  let agent: MeshHttpAgent | undefined;
  return {
    name,
    replays: false,
    async setup(mesh) { agent = new MeshHttpAgent({ mesh }); },
    async teardown() { await agent?.close(); },
    send: (url, headers = {}) => send(agent!, url, headers),
  };
}

export const axiosHttp = withMeshHttpAgent('axios (http adapter)', async (agent, url, headers) => {
  const res = await axios.get(url, { adapter: 'http', httpAgent: agent, headers, validateStatus: () => true, responseType: 'text', transformResponse: (d) => d });
  return { status: res.status, body: String(res.data) };
});

export const gotClient = withMeshHttpAgent('got', async (agent, url, headers) => {
  const res = await got(url, { agent: { http: agent }, headers, throwHttpErrors: false, retry: { limit: 0 } });
  return { status: res.statusCode, body: res.body };
});

export const nodeFetchClient = withMeshHttpAgent('node-fetch', async (agent, url, headers) => {
  const res = await nodeFetch(url, { agent, headers });
  return { status: res.status, body: await res.text() };
});

export const superagentClient = withMeshHttpAgent('superagent', async (agent, url, headers) => {
  const res = await superagent.get(url).agent(agent).set(headers).ok(() => true);
  return { status: res.status, body: res.text };
});

export const httpRequestClient = withMeshHttpAgent('http.request', (agent, url, headers) => new Promise<Reply>((resolve, reject) => {
  http.get(url, { agent, headers }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => { body += d; });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    res.on('error', reject);
  }).on('error', reject);
}));

export function undiciClient(): MatrixClient {
  let agent: MeshAgent | undefined;
  return {
    name: 'undici',
    replays: true,
    async setup(mesh) { agent = new MeshAgent({ mesh }); },
    async teardown() { await agent?.close(); },
    async send(url, headers = {}) {
      const res = await undiciRequest(url, { dispatcher: agent!, headers });
      return { status: res.statusCode, body: await res.body.text() };
    },
  };
}

function withGlobalDispatcher(name: string, send: (url: string, headers: Record<string, string>) => Promise<Reply>): MatrixClient {
  let restore: (() => Promise<void>) | undefined;
  return {
    name,
    replays: true,
    async setup(mesh) { restore = installGlobalDispatcher(mesh); },
    async teardown() { await restore?.(); },
    send: (url, headers = {}) => send(url, headers),
  };
}

export const fetchClient = withGlobalDispatcher('fetch', async (url, headers) => {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text() };
});

export const axiosFetch = withGlobalDispatcher('axios (fetch adapter)', async (url, headers) => {
  const res = await axios.get(url, { adapter: 'fetch', headers, validateStatus: () => true, responseType: 'text', transformResponse: (d) => d });
  return { status: res.status, body: String(res.data) };
});
