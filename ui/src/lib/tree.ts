/**
 * The span tree behind the waterfall. Traces come from many processes and are often imperfect:
 * parents that never arrived, repeated span IDs, even parent loops. None of that may hang or
 * crash the view, and traces of 100k+ spans (500k is the API's cap) must not overflow the call
 * stack, so every traversal here is iterative.
 */

/** The least a span needs to be placed in the tree; `TraceSpan` satisfies it. */
export interface TreeableSpan {
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly startOffsetNanos: number;
}

export interface SpanTreeNode<Span extends TreeableSpan> {
  readonly span: Span;
  readonly parent: SpanTreeNode<Span> | null;
  /** By start time, then span ID, so the order is stable across reloads. */
  readonly children: readonly SpanTreeNode<Span>[];
  /** 0 for roots. */
  readonly depth: number;
  /** A root because its parent is not in the trace (not arrived, dropped or cut off). */
  readonly orphan: boolean;
  /** A root because its parent chain loops back to it; the loop is cut here. */
  readonly cycleBroken: boolean;
  /** All nodes below this one, so a collapsed row can say how much it hides. */
  readonly descendantCount: number;
  /** Position in `SpanTree.preorder`. */
  readonly preorderIndex: number;
}

export interface SpanTree<Span extends TreeableSpan> {
  /** By start time, then span ID. */
  readonly roots: readonly SpanTreeNode<Span>[];
  /** Every node once, parents before children: the fully expanded waterfall. */
  readonly preorder: readonly SpanTreeNode<Span>[];
  readonly nodeBySpanId: ReadonlyMap<string, SpanTreeNode<Span>>;
  /** Spans skipped because an earlier span had the same ID. */
  readonly duplicateSpanCount: number;
  /** Parent loops cut to make the data a tree. */
  readonly brokenCycleCount: number;
}

interface MutableSpanTreeNode<Span extends TreeableSpan> {
  span: Span;
  parent: MutableSpanTreeNode<Span> | null;
  children: MutableSpanTreeNode<Span>[];
  depth: number;
  orphan: boolean;
  cycleBroken: boolean;
  descendantCount: number;
  preorderIndex: number;
}

export function compareByStartThenSpanId(
  left: { readonly span: TreeableSpan },
  right: { readonly span: TreeableSpan },
): number {
  const byStart = left.span.startOffsetNanos - right.span.startOffsetNanos;
  if (byStart !== 0) return byStart;
  return left.span.spanId < right.span.spanId ? -1 : left.span.spanId > right.span.spanId ? 1 : 0;
}

/** Calls `visit` on the subtrees of `startNodes` in pre-order, without recursion. */
function walkPreorder<Span extends TreeableSpan>(
  startNodes: readonly MutableSpanTreeNode<Span>[],
  visit: (node: MutableSpanTreeNode<Span>) => void,
): void {
  const stack: MutableSpanTreeNode<Span>[] = [];
  for (let index = startNodes.length - 1; index >= 0; index -= 1) stack.push(startNodes[index]!);
  while (stack.length > 0) {
    const node = stack.pop()!;
    visit(node);
    for (let index = node.children.length - 1; index >= 0; index -= 1) stack.push(node.children[index]!);
  }
}

/**
 * The loop an unreachable node's parent chain ends in (every unreachable chain ends in one),
 * and on it the earliest-starting node: where the loop is cut.
 */
function earliestNodeOnLoopAbove<Span extends TreeableSpan>(start: MutableSpanTreeNode<Span>): MutableSpanTreeNode<Span> {
  const seen = new Set<MutableSpanTreeNode<Span>>();
  let onLoop = start;
  while (!seen.has(onLoop)) {
    seen.add(onLoop);
    onLoop = onLoop.parent!;
  }
  let earliest = onLoop;
  for (let member = onLoop.parent!; member !== onLoop; member = member.parent!) {
    if (compareByStartThenSpanId(member, earliest) < 0) earliest = member;
  }
  return earliest;
}

export function buildSpanTree<Span extends TreeableSpan>(spans: readonly Span[]): SpanTree<Span> {
  const nodeBySpanId = new Map<string, MutableSpanTreeNode<Span>>();
  const nodesInInputOrder: MutableSpanTreeNode<Span>[] = [];
  let duplicateSpanCount = 0;
  for (const span of spans) {
    if (nodeBySpanId.has(span.spanId)) {
      // The first copy wins: which is "right" is unknowable, and first is at least stable.
      duplicateSpanCount += 1;
      continue;
    }
    const node: MutableSpanTreeNode<Span> = {
      span,
      parent: null,
      children: [],
      depth: 0,
      orphan: false,
      cycleBroken: false,
      descendantCount: 0,
      preorderIndex: -1,
    };
    nodeBySpanId.set(span.spanId, node);
    nodesInInputOrder.push(node);
  }

  const roots: MutableSpanTreeNode<Span>[] = [];
  for (const node of nodesInInputOrder) {
    const parentSpanId = node.span.parentSpanId;
    const parent = parentSpanId === null ? undefined : nodeBySpanId.get(parentSpanId);
    if (parent === undefined) {
      node.orphan = parentSpanId !== null;
      roots.push(node);
    } else {
      node.parent = parent;
      parent.children.push(node);
    }
  }
  for (const node of nodesInInputOrder) node.children.sort(compareByStartThenSpanId);

  // Nodes on a parent loop (including a span that is its own parent) are unreachable from any
  // root, and so is everything hanging off a loop. Cut each loop at its earliest-starting
  // member, which then becomes a root; the rest of the loop and its branches stay attached.
  const reached = new Set<MutableSpanTreeNode<Span>>();
  const markReached = (node: MutableSpanTreeNode<Span>): void => {
    reached.add(node);
  };
  walkPreorder(roots, markReached);
  let brokenCycleCount = 0;
  if (reached.size < nodesInInputOrder.length) {
    const unreached = nodesInInputOrder.filter((node) => !reached.has(node)).sort(compareByStartThenSpanId);
    for (const node of unreached) {
      if (reached.has(node)) continue;
      const cut = earliestNodeOnLoopAbove(node);
      const formerParent = cut.parent!;
      formerParent.children.splice(formerParent.children.indexOf(cut), 1);
      cut.parent = null;
      cut.cycleBroken = true;
      brokenCycleCount += 1;
      roots.push(cut);
      walkPreorder([cut], markReached);
    }
  }
  roots.sort(compareByStartThenSpanId);

  const preorder: MutableSpanTreeNode<Span>[] = [];
  walkPreorder(roots, (node) => {
    node.depth = node.parent === null ? 0 : node.parent.depth + 1;
    node.preorderIndex = preorder.length;
    preorder.push(node);
  });
  // Reverse pre-order reaches every child before its parent.
  for (let index = preorder.length - 1; index >= 0; index -= 1) {
    const node = preorder[index]!;
    if (node.parent !== null) node.parent.descendantCount += 1 + node.descendantCount;
  }

  return { roots, preorder, nodeBySpanId, duplicateSpanCount, brokenCycleCount };
}

/**
 * The rows of the waterfall with the subtrees of `collapsedSpanIds` hidden (the collapsed span
 * itself stays visible). Pre-order keeps each subtree contiguous, so hiding one is a jump over
 * `descendantCount` entries: the cost is the number of visible rows, not the trace size.
 */
export function visibleRows<Span extends TreeableSpan>(
  tree: SpanTree<Span>,
  collapsedSpanIds: ReadonlySet<string>,
): SpanTreeNode<Span>[] {
  const rows: SpanTreeNode<Span>[] = [];
  let index = 0;
  while (index < tree.preorder.length) {
    const node = tree.preorder[index]!;
    rows.push(node);
    index += collapsedSpanIds.has(node.span.spanId) ? 1 + node.descendantCount : 1;
  }
  return rows;
}

/**
 * The root the trace is about: the earliest genuine root (no parent at all), else the
 * earliest root of any kind, since a trace whose root never arrived still needs an anchor.
 */
export function primaryRoot<Span extends TreeableSpan>(tree: SpanTree<Span>): SpanTreeNode<Span> | null {
  return tree.roots.find((root) => !root.orphan && !root.cycleBroken) ?? tree.roots[0] ?? null;
}
