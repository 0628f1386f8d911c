// A small renderer for the part of Go's text/template that injection templates like
// node-meshlet-template.yaml use — comments, {{- -}} trimming, range over a list with
// `$index, $x :=`, if / not / eq, and field paths — so a test can render the template the way
// istiod would and check the pod spec it yields. Anything else is an error, not a guess.

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'out'; expr: string }
  | { kind: 'range'; index: string; item: string; list: string; body: Node[] }
  | { kind: 'if'; cond: string; body: Node[] };

type Scope = { data: unknown; vars: Record<string, unknown> };

export function renderTemplate(template: string, data: unknown): string {
  const tokens = tokenize(template);
  let i = 0;
  const parse = (closing: boolean): Node[] => {
    const out: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++]!;
      if (t.kind === 'text') { out.push(t); continue; }
      const a = t.action;
      if (a.startsWith('/*')) continue;
      if (a === 'end') {
        if (!closing) throw new Error('template: unexpected {{end}}');
        return out;
      }
      let m = /^range\s+(\$\w+),\s*(\$\w+)\s*:=\s*(\S+)$/.exec(a);
      if (m) { out.push({ kind: 'range', index: m[1]!, item: m[2]!, list: m[3]!, body: parse(true) }); continue; }
      m = /^if\s+(.+)$/.exec(a);
      if (m) { out.push({ kind: 'if', cond: m[1]!, body: parse(true) }); continue; }
      out.push({ kind: 'out', expr: a });
    }
    if (closing) throw new Error('template: missing {{end}}');
    return out;
  };
  return run(parse(false), { data, vars: {} });
}

function tokenize(s: string): ({ kind: 'text'; text: string } | { kind: 'action'; action: string })[] {
  const out: ({ kind: 'text'; text: string } | { kind: 'action'; action: string })[] = [];
  let pos = 0;
  let trimNext = false;
  for (;;) {
    const open = s.indexOf('{{', pos);
    let text = s.slice(pos, open < 0 ? s.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) { out.push({ kind: 'text', text }); return out; }
    const close = s.indexOf('}}', open);
    if (close < 0) throw new Error('template: unclosed {{');
    let action = s.slice(open + 2, close);
    if (action.startsWith('-')) { text = text.replace(/\s+$/, ''); action = action.slice(1); }
    trimNext = action.endsWith('-');
    if (trimNext) action = action.slice(0, -1);
    out.push({ kind: 'text', text }, { kind: 'action', action: action.trim() });
    pos = close + 2;
  }
}

function run(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    switch (n.kind) {
      case 'text': out += n.text; break;
      case 'out': out += String(evaluate(n.expr, scope)); break;
      case 'if': if (truthy(evaluate(n.cond, scope))) out += run(n.body, scope); break;
      case 'range': {
        const list = evaluate(n.list, scope);
        if (!Array.isArray(list)) throw new Error(`template: range over ${n.list}, which is not a list`);
        list.forEach((item, index) => { out += run(n.body, { data: scope.data, vars: { ...scope.vars, [n.index]: index, [n.item]: item } }); });
        break;
      }
    }
  }
  return out;
}

function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false && v !== '' && v !== 0 && !(Array.isArray(v) && v.length === 0);
}

/** Terms: "string", (expr), $var.Field.Path, .Field.Path; a call is `fn arg...` with fn in {not, eq}. */
function evaluate(expr: string, scope: Scope): unknown {
  const terms = splitTerms(expr.trim());
  const [head, ...args] = terms;
  if (head === 'not') return !truthy(evaluate(args.join(' '), scope));
  if (head === 'eq') {
    if (args.length !== 2) throw new Error(`template: eq takes two arguments: ${expr}`);
    return evaluate(args[0]!, scope) === evaluate(args[1]!, scope);
  }
  if (terms.length !== 1) throw new Error(`template: unsupported expression ${expr}`);
  const t = head!;
  if (t.startsWith('(')) return evaluate(t.slice(1, -1), scope);
  if (t.startsWith('"')) return JSON.parse(t) as string;
  const [root, ...path] = t.split('.');
  let v: unknown = root === '' ? scope.data : root!.startsWith('$') ? scope.vars[root!] : undefined;
  if (root !== '' && !root!.startsWith('$')) throw new Error(`template: unsupported term ${t}`);
  for (const f of path) v = (v as Record<string, unknown> | undefined)?.[f];
  return v;
}

function splitTerms(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ' ') { i++; continue; }
    let j = i;
    if (s[i] === '(') {
      let depth = 0;
      for (; j < s.length; j++) { if (s[j] === '(') depth++; if (s[j] === ')' && --depth === 0) break; }
      j++;
    } else if (s[i] === '"') {
      j = s.indexOf('"', i + 1) + 1;
    } else {
      while (j < s.length && s[j] !== ' ') j++;
    }
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}
