// The grpc-js resolver for mesh:/// targets (and xds:/// when registered as a drop-in for
// @grpc/grpc-js-xds). It resolves no addresses: it hands grpc-js a config selector that routes
// each call, and the `meshlet_mesh` balancing policy that runs it, and reports again on every
// new snapshot so the balancer can release connections to endpoints that left the mesh.

import { Metadata, status as Status, experimental, type ChannelOptions } from '@grpc/grpc-js';
import type { Mesh } from '@meshlet/core';
import { meshConfigSelector } from './config-selector-mesh.ts';
import { MESH_LB_POLICY, TARGET_ATTRIBUTE } from './load-balancer-mesh.ts';
import { MeshTarget, parseTarget } from './mesh-target.ts';

/** A mesh, or a mesh still being created (the xds:/// drop-in builds one from the environment on first use). */
export type MeshSource = Mesh | Promise<Mesh>;

const sources = new Map<string, MeshSource>();

export function setMeshSource(scheme: string, source: MeshSource | undefined): void {
  if (source === undefined) sources.delete(scheme);
  else sources.set(scheme, source);
}

const SERVICE_CONFIG = { loadBalancingConfig: [{ [MESH_LB_POLICY]: {} }], methodConfig: [] };

export class MeshResolver implements experimental.Resolver {
  readonly #target: experimental.GrpcUri;
  readonly #listener: experimental.ResolverListener;
  #unsubscribe: (() => void) | undefined;
  #meshTarget: MeshTarget | undefined;
  #selector: experimental.ConfigSelector | undefined;
  #generation = 0;

  constructor(target: experimental.GrpcUri, listener: experimental.ResolverListener, _options: ChannelOptions) {
    this.#target = target;
    this.#listener = listener;
  }

  updateResolution(): void {
    if (this.#meshTarget) {
      // Already following the mesh: say it again (grpc-js asks after idling or on request).
      this.#later(() => this.#report());
      return;
    }
    const generation = ++this.#generation;
    const scheme = this.#target.scheme ?? 'mesh';
    const parsed = parseTarget(scheme, this.#target.authority, this.#target.path);
    if (!parsed.ok) {
      this.#later(() => this.#fail(parsed.error));
      return;
    }
    const source = sources.get(scheme);
    if (source === undefined) {
      this.#later(() => this.#fail(`no mesh is registered for ${scheme}:/// targets; call register(mesh) from @meshlet/grpc before creating the client`));
      return;
    }
    const follow = async (mesh: Mesh) => {
      // In xDS mode the service's config is fetched on first use; calls wait in grpc-js's
      // queue until it is there, rather than going out unrouted. Immediate with CRD files.
      await mesh.ensureService(parsed.host, parsed.port).catch(() => false);
      // destroy() or a newer updateResolution() happened while the mesh was being created.
      if (generation !== this.#generation) return;
      this.#meshTarget = new MeshTarget(mesh, parsed.host, parsed.port, scheme !== 'xds');
      this.#selector = meshConfigSelector(this.#meshTarget);
      this.#unsubscribe = mesh.subscribe(() => this.#report());
      this.#report();
    };
    if (source instanceof Promise) {
      source.then(follow, (err: unknown) => {
        if (generation === this.#generation) this.#fail(`the mesh for ${scheme}:/// targets could not be created: ${err instanceof Error ? err.message : String(err)}`);
      });
    } else {
      this.#later(() => void follow(source));
    }
  }

  // grpc-js requires listener calls never to happen synchronously inside updateResolution.
  #later(fn: () => void): void {
    const generation = this.#generation;
    process.nextTick(() => {
      if (generation === this.#generation) fn();
    });
  }

  #report(): void {
    if (!this.#meshTarget) return;
    this.#listener(
      experimental.statusOrFromValue([]),
      { [experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: this.#selector, [TARGET_ATTRIBUTE]: this.#meshTarget },
      experimental.statusOrFromValue(SERVICE_CONFIG),
      '',
    );
  }

  #fail(details: string): void {
    this.#listener(experimental.statusOrFromError({ code: Status.UNAVAILABLE, details: `meshlet: ${details}`, metadata: new Metadata() }), {}, null, '');
  }

  destroy(): void {
    this.#generation++;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#meshTarget = undefined;
    this.#selector = undefined;
  }

  /** The :authority of calls: the host:port the caller addressed. A malformed target fails client construction with this message. */
  static getDefaultAuthority(target: experimental.GrpcUri): string {
    const parsed = parseTarget(target.scheme ?? 'mesh', target.authority, target.path);
    if (!parsed.ok) throw new Error(`meshlet: ${parsed.error}`);
    return parsed.host.includes(':') ? `[${parsed.host}]:${parsed.port}` : `${parsed.host}:${parsed.port}`;
  }
}

const registeredSchemes = new Set<string>();

export function registerMeshResolver(scheme: string): void {
  if (registeredSchemes.has(scheme)) return;
  registeredSchemes.add(scheme);
  experimental.registerResolver(scheme, MeshResolver);
}
