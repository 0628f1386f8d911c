// Translations of a decoded resource, remembered per resource object. A decoded resource is
// never changed afterwards, and the ADS client translates each one twice: to validate it as it
// arrives (so a bad one is NACKed by name) and again when the snapshot is built. Remembering the
// first result makes the build — the one step that must run without a break, because the
// snapshot is swapped whole — cheap, while the validating pass runs in slices between which
// requests are served (ads-stream.ts).

export function memoByObject<T extends object, R>(fn: (value: T) => R): (value: T) => R {
  const cache = new WeakMap<T, R>();
  return (value) => {
    let r = cache.get(value);
    if (r === undefined) {
      r = fn(value);
      cache.set(value, r);
    }
    return r;
  };
}
