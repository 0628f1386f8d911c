// The packed packages through CommonJS `require`: they are ES modules without top-level await,
// which Node >= 22.12 loads with require(). A mesh is built and asked for a decision.
const assert = require('node:assert/strict');
const { createMesh } = require('@meshlet/core');
const { MeshAgent, installGlobalDispatcher } = require('@meshlet/http');
const { register, bindMesh } = require('@meshlet/grpc');
const xds = require('@meshlet/grpc/xds');

for (const [name, value] of Object.entries({ createMesh, MeshAgent, installGlobalDispatcher, register, bindMesh, 'xds.register': xds.register })) {
  assert.equal(typeof value, 'function', `${name} from require()`);
}
createMesh({ config: require('node:path').join(__dirname, 'mesh'), watch: false }).then(async (mesh) => {
  assert.deepEqual(mesh.explain({ url: 'http://ratings:9080/' }).clusters.map((c) => c.name), ['outbound|9080||ratings.default.svc.cluster.local']);
  await mesh.close();
  console.log('CommonJS require: every entry point loads; createMesh works');
});
