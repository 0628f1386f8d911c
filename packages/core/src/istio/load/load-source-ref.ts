// Maps field paths of a loaded object back to lines of its YAML text, so every problem can say
// file:line. The parsed YAML node tree is kept for this; it is only walked when a line is asked
// for, which happens when something is wrong.

import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type LineCounter, type Node, type YAMLMap } from 'yaml';
import type { SourceRef } from '../types.ts';

function keyText(key: unknown): string {
  // With merge keys enabled, `<<` is parsed to a symbol; compare it by its source text.
  if (isScalar(key)) return typeof key.value === 'symbol' ? String(key.source) : String(key.value);
  return String(key);
}

/** The value node of `seg` in a map, also looking through `<<` merge keys. */
function findPair(map: YAMLMap, seg: string, doc: Document, depth = 0): { key: unknown; value: unknown } | undefined {
  const own = map.items.find((p) => keyText(p.key) === seg);
  if (own || depth > 8) return own;
  for (const p of map.items) {
    if (keyText(p.key) !== '<<') continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (const src of sources) {
      const resolved = isAlias(src) ? src.resolve(doc) : src;
      if (isMap(resolved)) {
        const found = findPair(resolved, seg, doc, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

export function createSourceRef(file: string, root: Node, lineCounter: LineCounter, doc: Document): SourceRef {
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const line = root.range ? lineAt(root.range[0]) : 1;
  return {
    file,
    line,
    lineOf(path) {
      let node: unknown = root;
      let best = line;
      for (const seg of path) {
        if (isAlias(node)) node = node.resolve(doc);
        if (isMap(node)) {
          const pair = findPair(node, String(seg), doc);
          if (!pair) break;
          if (isNode(pair.key) && pair.key.range) best = lineAt(pair.key.range[0]);
          node = pair.value;
        } else if (isSeq(node) && typeof seg === 'number') {
          const item = node.items[seg];
          if (item === undefined) break;
          if (isNode(item) && item.range) best = lineAt(item.range[0]);
          node = item;
        } else {
          break;
        }
      }
      return best;
    },
  };
}
