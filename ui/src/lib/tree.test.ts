import { describe, expect, it } from 'vitest';
import { seededRandom, testSpan } from './test-spans';
import type { TraceSpan } from './trace-model';
import { buildSpanTree, primaryRoot, visibleRows, type SpanTree } from './tree';

const idsOf = (nodes: readonly { readonly span: { readonly spanId: string } }[]): string[] =>
  nodes.map((node) => node.span.spanId);

function shuffled<Item>(items: readonly Item[], seed: number): Item[] {
  const random = seededRandom(seed);
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

/** Checks the invariants every tree must keep, whatever the input. */
function expectConsistent(tree: SpanTree<TraceSpan>, expectedNodeCount: number): void {
  expect(tree.preorder).toHaveLength(expectedNodeCount);
  expect(new Set(idsOf(tree.preorder)).size).toBe(expectedNodeCount);
  tree.preorder.forEach((node, index) => {
    expect(node.preorderIndex).toBe(index);
    expect(node.depth).toBe(node.parent === null ? 0 : node.parent.depth + 1);
  });
}

describe('buildSpanTree', () => {
  //  root ─┬─ a ─── a1
  //        ├─ b        (starts with c; span ID breaks the tie)
  //        └─ c
  const spans = [
    testSpan('c', 'root', { start: 20, end: 30 }),
    testSpan('a1', 'a', { start: 12, end: 14 }),
    testSpan('root', null, { start: 0, end: 100 }),
    testSpan('b', 'root', { start: 20, end: 25 }),
    testSpan('a', 'root', { start: 10, end: 15 }),
  ];

  it('links children to parents, sorted by start time then span ID', () => {
    const tree = buildSpanTree(spans);
    expect(idsOf(tree.roots)).toEqual(['root']);
    expect(idsOf(tree.roots[0]!.children)).toEqual(['a', 'b', 'c']);
    expect(idsOf(tree.preorder)).toEqual(['root', 'a', 'a1', 'b', 'c']);
    expect(tree.preorder.map((node) => node.depth)).toEqual([0, 1, 2, 1, 1]);
    expect(tree.nodeBySpanId.get('a1')?.parent?.span.spanId).toBe('a');
    expectConsistent(tree, 5);
  });

  it('gives the same order whatever the input order', () => {
    const expected = idsOf(buildSpanTree(spans).preorder);
    for (let seed = 1; seed <= 5; seed += 1) {
      expect(idsOf(buildSpanTree(shuffled(spans, seed)).preorder)).toEqual(expected);
    }
  });

  it('counts descendants', () => {
    const tree = buildSpanTree(spans);
    expect(tree.preorder.map((node) => [node.span.spanId, node.descendantCount])).toEqual([
      ['root', 4],
      ['a', 1],
      ['a1', 0],
      ['b', 0],
      ['c', 0],
    ]);
  });

  it('makes spans with a missing parent orphan roots, and prefers the genuine root as primary', () => {
    const tree = buildSpanTree([
      testSpan('late-orphan', 'never-arrived', { start: 50 }),
      testSpan('root', null, { start: 10 }),
      testSpan('early-orphan', 'also-missing', { start: 5 }),
      testSpan('child-of-orphan', 'early-orphan', { start: 6 }),
    ]);
    expect(tree.roots.map((root) => [root.span.spanId, root.orphan])).toEqual([
      ['early-orphan', true],
      ['root', false],
      ['late-orphan', true],
    ]);
    expect(tree.nodeBySpanId.get('child-of-orphan')?.orphan).toBe(false);
    expect(primaryRoot(tree)?.span.spanId).toBe('root');
    expectConsistent(tree, 4);
  });

  it('falls back to the earliest root when no genuine root arrived, and to null when empty', () => {
    const tree = buildSpanTree([testSpan('b', 'gone', { start: 3 }), testSpan('a', 'gone', { start: 1 })]);
    expect(primaryRoot(tree)?.span.spanId).toBe('a');
    expect(primaryRoot(buildSpanTree([]))).toBeNull();
  });

  it('keeps the first of spans sharing an ID and counts the rest', () => {
    const tree = buildSpanTree([
      testSpan('root', null, { start: 0, end: 10 }),
      testSpan('x', 'root', { start: 1, name: 'first' }),
      testSpan('x', 'root', { start: 2, name: 'second' }),
      testSpan('x', null, { start: 3, name: 'third' }),
    ]);
    expect(tree.duplicateSpanCount).toBe(2);
    expect(tree.nodeBySpanId.get('x')?.span.name).toBe('first');
    expect(idsOf(tree.preorder)).toEqual(['root', 'x']);
  });

  it('cuts a span that is its own parent', () => {
    const tree = buildSpanTree([testSpan('self', 'self', { start: 0 }), testSpan('kid', 'self', { start: 1 })]);
    expect(tree.brokenCycleCount).toBe(1);
    expect(tree.roots.map((root) => [root.span.spanId, root.cycleBroken, root.orphan])).toEqual([
      ['self', true, false],
    ]);
    expect(idsOf(tree.preorder)).toEqual(['self', 'kid']);
  });

  it('cuts a parent loop at its earliest span and keeps everything hanging off it', () => {
    //  loop: a → b → c → a (each the parent of the next), d hangs off c; plus a normal tree.
    const tree = buildSpanTree([
      testSpan('normal', null, { start: 0 }),
      testSpan('b', 'a', { start: 20 }),
      testSpan('c', 'b', { start: 30 }),
      testSpan('a', 'c', { start: 10 }),
      testSpan('d', 'c', { start: 31 }),
    ]);
    expect(tree.brokenCycleCount).toBe(1);
    expect(idsOf(tree.roots)).toEqual(['normal', 'a']);
    expect(idsOf(tree.preorder)).toEqual(['normal', 'a', 'b', 'c', 'd']);
    expect(tree.nodeBySpanId.get('c')?.children.map((child) => child.span.spanId)).toEqual(['d']);
    expectConsistent(tree, 5);
  });

  it('regression: a branch hanging off a loop that starts before the loop stays attached to it', () => {
    // a ↔ b is the loop; c hangs off a and starts first, so it is the earliest unreached span.
    // Cutting there would detach c and count a second "loop".
    const tree = buildSpanTree([
      testSpan('c', 'a', { start: 1 }),
      testSpan('a', 'b', { start: 5 }),
      testSpan('b', 'a', { start: 6 }),
    ]);
    expect(tree.brokenCycleCount).toBe(1);
    expect(idsOf(tree.roots)).toEqual(['a']);
    expect(tree.nodeBySpanId.get('c')?.parent?.span.spanId).toBe('a');
    expect(tree.nodeBySpanId.get('c')?.cycleBroken).toBe(false);
    expectConsistent(tree, 3);
  });

  it('handles several separate loops', () => {
    const tree = buildSpanTree([
      testSpan('x1', 'x2', { start: 1 }),
      testSpan('x2', 'x1', { start: 2 }),
      testSpan('y1', 'y2', { start: 3 }),
      testSpan('y2', 'y1', { start: 4 }),
    ]);
    expect(tree.brokenCycleCount).toBe(2);
    expect(idsOf(tree.preorder)).toEqual(['x1', 'x2', 'y1', 'y2']);
  });
});

describe('visibleRows', () => {
  //  r ─┬─ a ─┬─ a1 ── a1x
  //     │     └─ a2
  //     └─ b ─── b1
  const tree = buildSpanTree([
    testSpan('r', null, { start: 0 }),
    testSpan('a', 'r', { start: 1 }),
    testSpan('a1', 'a', { start: 2 }),
    testSpan('a1x', 'a1', { start: 3 }),
    testSpan('a2', 'a', { start: 4 }),
    testSpan('b', 'r', { start: 5 }),
    testSpan('b1', 'b', { start: 6 }),
  ]);

  it('shows every row when nothing is collapsed', () => {
    expect(idsOf(visibleRows(tree, new Set()))).toEqual(['r', 'a', 'a1', 'a1x', 'a2', 'b', 'b1']);
  });

  it('hides only the subtree of a collapsed span, keeping the span itself', () => {
    expect(idsOf(visibleRows(tree, new Set(['a'])))).toEqual(['r', 'a', 'b', 'b1']);
    expect(idsOf(visibleRows(tree, new Set(['a1', 'b'])))).toEqual(['r', 'a', 'a1', 'a2', 'b']);
  });

  it('collapsing the root leaves one row; collapsed spans inside a collapsed one stay hidden', () => {
    expect(idsOf(visibleRows(tree, new Set(['r'])))).toEqual(['r']);
    expect(idsOf(visibleRows(tree, new Set(['a', 'a1'])))).toEqual(['r', 'a', 'b', 'b1']);
  });

  it('ignores collapsed IDs of leaves and of spans not in the trace', () => {
    expect(idsOf(visibleRows(tree, new Set(['a1x', 'nope'])))).toHaveLength(7);
  });
});

describe('large and hostile traces', () => {
  const spanCount = 100_000;

  it('builds a 100k-deep chain without recursion limits', () => {
    const spans = Array.from({ length: spanCount }, (_, index) =>
      testSpan(`s${index}`, index === 0 ? null : `s${index - 1}`, { start: index, end: 2 * spanCount - index }),
    );
    const tree = buildSpanTree(shuffled(spans, 7));
    expect(tree.preorder).toHaveLength(spanCount);
    expect(tree.preorder[spanCount - 1]?.depth).toBe(spanCount - 1);
    expect(tree.roots[0]?.descendantCount).toBe(spanCount - 1);
    expect(visibleRows(tree, new Set(['s500']))).toHaveLength(501);
  });

  it('builds a 100k-wide trace in start order', () => {
    const spans = [testSpan('root', null, { start: 0 })];
    for (let index = 1; index < spanCount; index += 1) {
      spans.push(testSpan(`c${String(index).padStart(6, '0')}`, 'root', { start: spanCount - index }));
    }
    const tree = buildSpanTree(spans);
    const children = tree.roots[0]!.children;
    expect(children).toHaveLength(spanCount - 1);
    expect(children[0]?.span.startOffsetNanos).toBe(1);
    expect(children[children.length - 1]?.span.startOffsetNanos).toBe(spanCount - 1);
  });

  it('survives a 100k-span parent loop', () => {
    const spans = Array.from({ length: spanCount }, (_, index) =>
      testSpan(`s${index}`, `s${(index + spanCount - 1) % spanCount}`, { start: index }),
    );
    const tree = buildSpanTree(spans);
    expect(tree.brokenCycleCount).toBe(1);
    expect(tree.roots[0]?.span.spanId).toBe('s0');
    expect(tree.preorder).toHaveLength(spanCount);
  });

  it('keeps its invariants on random messy data (orphans, duplicates, loops)', () => {
    const random = seededRandom(42);
    const spans: TraceSpan[] = [];
    for (let index = 0; index < 2_000; index += 1) {
      const spanId = `s${Math.floor(random() * 1_800)}`;
      const roll = random();
      const parentSpanId = roll < 0.05 ? null : roll < 0.1 ? 'missing' : `s${Math.floor(random() * 1_800)}`;
      spans.push(testSpan(spanId, parentSpanId, { start: Math.floor(random() * 1_000) }));
    }
    const tree = buildSpanTree(spans);
    const uniqueCount = new Set(spans.map((span) => span.spanId)).size;
    expect(tree.duplicateSpanCount).toBe(spans.length - uniqueCount);
    expectConsistent(tree, uniqueCount);
    expect(tree.brokenCycleCount).toBeGreaterThan(0);
  });
});
