#!/usr/bin/env python3
"""File-level import graph of a crate's src/. Edges: `use` paths and inline paths (crate::,
super::, self::, a child module's name). Not edges: `mod x;` declarations, and the re-exports of
a facade (lib.rs or a mod.rs: `pub use child::Name`), which are followed to the file that
defines the name. `super` inside a file's `mod tests { .. }` means the file itself.
Prints the strongly connected components of more than one file."""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'src'
mods, facade = {}, set()
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p = os.path.relpath(os.path.join(d, f), root)
        parts = p[:-3].split('/')
        if parts[-1] in ('mod', 'lib'): parts = parts[:-1]; facade.add(tuple(parts))
        mods[tuple(parts)] = p
def strip(src): return re.sub(r'//[^\n]*', '', src)
reexp = {}  # (facade, name) -> module
for F in facade:
    src = strip(open(os.path.join(root, mods[F])).read())
    for mt in re.finditer(r'pub(?:\([^)]*\))?\s+use\s+(?:self::)?([\w:]+?)(?:::\{([^}]*)\}|::(\w+))\s*;', src):
        path, group, one = mt.group(1), mt.group(2), mt.group(3)
        names = [g.strip().split(' as ')[-1] for g in group.split(',')] if group else [one]
        tgt = tuple(F) + tuple(path.split('::'))
        for n in names:
            if n: reexp[(F, n)] = tgt
def resolve(path):
    path = tuple(path)
    for i in range(len(path), 0, -1):
        t = path[:i]
        if t in mods:
            if t in facade and i < len(path) and (t, path[i]) in reexp:
                r = reexp[(t, path[i])]
                return resolve(r + path[i + 1:]) or (r if r in mods else t)
            return t
    return None
edges = {m: set() for m in mods}
for m, f in mods.items():
    src = strip(open(os.path.join(root, f)).read())
    if m in facade:
        src = re.sub(r'pub(?:\([^)]*\))?\s+use\s+[^;]*;', '', src)
    tpos = src.find('mod tests {')
    for mt in re.finditer(r'\b(crate|super|self)((?:::\w+)*)(?:::\{([^;]*?)\})?', src):
        base, rest, group = mt.group(1), mt.group(2), mt.group(3)
        segs = rest.split('::')[1:]
        intest = tpos >= 0 and mt.start() > tpos
        if base == 'crate': cur = []
        elif base == 'super':
            cur = list(m) if intest else list(m)[:-1]
            while segs and segs[0] == 'super': cur = cur[:-1]; segs = segs[1:]
        else: cur = list(m)
        cands = [cur + segs]
        if group:
            for g in group.split(','):
                g = g.strip().split(' as ')[0].split('{')[0].strip(':')
                if g and g != 'self' and g != '*': cands.append(cur + segs + g.split('::'))
        for c in cands:
            t = resolve(c)
            if t and t != m and t != ():
                edges[m].add(t)
    for mt in re.finditer(r'(?<![:\w])(\w+)::\w', src):
        c = tuple(list(m) + [mt.group(1)])
        if c in mods and c != m: edges[m].add(c)
idx, low, st, on, out, n = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = n[0]; n[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        out.append(comp)
for v in mods:
    if v not in idx: sc(v)
name = lambda t: '::'.join(t) or 'crate'
bad = [c for c in out if len(c) > 1]
for c in bad:
    cs = set(c)
    print('cycle:', ', '.join(sorted(name(x) for x in c)))
    for x in sorted(c):
        print('   ', name(x), '->', ', '.join(sorted(name(y) for y in edges[x] if y in cs)))
print(len(bad), 'cycle(s)')
sys.exit(1 if bad else 0)
