// Preloaded (`--import`) into the `meshlet xds` processes the tests spawn with an IPC channel:
// when the test process dies by any means — a vitest worker torn down after a timeout, even
// SIGKILL — the channel closes and this child exits, instead of serving on, orphaned, for hours.
// The channel is unref'd so it never keeps a child alive on its own.

if (process.channel) {
  process.channel.unref();
  process.on('disconnect', () => process.exit(0));
}
