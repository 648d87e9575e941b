/**
 * The critical path: the chain of work that the root's end actually waited for, so shortening
 * any segment on it shortens the trace (the idea of Uber's CRISP and Jaeger UI's critical path).
 *
 * Algorithm. Start with a cursor at the root's end and walk backwards in time:
 *   1. Among the span's children, take the one that finishes last at or before the cursor.
 *   2. The gap between that child's end and the cursor is the span's own (self) time: a segment
 *      of the span.
 *   3. Descend into the child with the cursor at the child's end and repeat; when the child is
 *      done, continue in the span with the cursor moved to the child's start.
 *   4. With no child left before the cursor, the span's start up to the cursor is self time.
 * A child overlapping the chosen child's interval is skipped: it ran in parallel and finished
 * earlier, so nothing waited on it. Ties on end time go to the earlier start (the longer child
 * explains more of the wait), then to the smaller span ID, for determinism.
 *
 * Each child is first clipped to its parent's (clipped) interval: time a child spends outside
 * its parent cannot be on the parent's path (a child still running after its parent returned
 * is asynchronous work). A child with nothing left after clipping — e.g. a fire-and-forget
 * span starting after its parent ended — is ignored. Clipping nests, so every segment lies in
 * the root's interval and the segments tile it exactly: no gaps, no overlaps, and their
 * lengths sum to the root's duration.
 *
 * Differences from Jaeger UI: a child ending exactly at the cursor qualifies (Jaeger requires
 * strictly before, which drops back-to-back sequential calls from the path), the walk uses an
 * explicit stack (deep traces), and each child is considered once per parent (sorted by end),
 * which keeps it O(n log n).
 */
import type { SpanTreeNode, TreeableSpan } from './tree';

export interface TimedSpan extends TreeableSpan {
  readonly endOffsetNanos: number;
}

export interface CriticalPathSegment {
  readonly spanId: string;
  readonly startOffsetNanos: number;
  readonly endOffsetNanos: number;
}

interface ClippedChild<Span extends TimedSpan> {
  readonly node: SpanTreeNode<Span>;
  readonly clippedStart: number;
  readonly clippedEnd: number;
}

interface WalkFrame<Span extends TimedSpan> {
  readonly node: SpanTreeNode<Span>;
  readonly clippedStart: number;
  /** Everything after the cursor within this span is already on the path. */
  cursor: number;
  /** Latest end first; consumed front to back since the cursor only moves back. */
  readonly childrenByEndDescending: readonly ClippedChild<Span>[];
  nextChildIndex: number;
}

function clippedChildrenOf<Span extends TimedSpan>(
  node: SpanTreeNode<Span>,
  clippedStart: number,
  clippedEnd: number,
): ClippedChild<Span>[] {
  const clipped: ClippedChild<Span>[] = [];
  for (const child of node.children) {
    const childStart = Math.max(child.span.startOffsetNanos, clippedStart);
    const childEnd = Math.min(child.span.endOffsetNanos, clippedEnd);
    // Nothing inside the parent: it cannot hold up the parent.
    if (childEnd <= childStart) continue;
    clipped.push({ node: child, clippedStart: childStart, clippedEnd: childEnd });
  }
  return clipped.sort(
    (left, right) =>
      right.clippedEnd - left.clippedEnd ||
      left.clippedStart - right.clippedStart ||
      (left.node.span.spanId < right.node.span.spanId ? -1 : left.node.span.spanId > right.node.span.spanId ? 1 : 0),
  );
}

function frameFor<Span extends TimedSpan>(
  node: SpanTreeNode<Span>,
  clippedStart: number,
  clippedEnd: number,
): WalkFrame<Span> {
  return {
    node,
    clippedStart,
    cursor: clippedEnd,
    childrenByEndDescending: clippedChildrenOf(node, clippedStart, clippedEnd),
    nextChildIndex: 0,
  };
}

/** Segments in time order, tiling `[root start, root end]`; empty for a zero-length root. */
export function computeCriticalPath<Span extends TimedSpan>(root: SpanTreeNode<Span>): CriticalPathSegment[] {
  const rootStart = root.span.startOffsetNanos;
  const rootEnd = Math.max(root.span.endOffsetNanos, rootStart);
  const segmentsLatestFirst: CriticalPathSegment[] = [];
  // Segments of one span never touch: a chosen child always has positive length and fills
  // its own interval, so something always separates two stretches of its parent.
  const addSegment = (spanId: string, startOffsetNanos: number, endOffsetNanos: number): void => {
    if (endOffsetNanos > startOffsetNanos) segmentsLatestFirst.push({ spanId, startOffsetNanos, endOffsetNanos });
  };

  const stack: WalkFrame<Span>[] = [frameFor(root, rootStart, rootEnd)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const children = frame.childrenByEndDescending;
    while (frame.nextChildIndex < children.length && children[frame.nextChildIndex]!.clippedEnd > frame.cursor) {
      frame.nextChildIndex += 1;
    }
    const child = children[frame.nextChildIndex];
    if (child === undefined) {
      addSegment(frame.node.span.spanId, frame.clippedStart, frame.cursor);
      stack.pop();
      continue;
    }
    frame.nextChildIndex += 1;
    addSegment(frame.node.span.spanId, child.clippedEnd, frame.cursor);
    frame.cursor = child.clippedStart;
    stack.push(frameFor(child.node, child.clippedStart, child.clippedEnd));
  }
  return segmentsLatestFirst.reverse();
}

/** How long each span is on the critical path, for highlighting and sorting rows. */
export function criticalNanosBySpanId(segments: readonly CriticalPathSegment[]): Map<string, number> {
  const nanosBySpanId = new Map<string, number>();
  for (const segment of segments) {
    const length = segment.endOffsetNanos - segment.startOffsetNanos;
    nanosBySpanId.set(segment.spanId, (nanosBySpanId.get(segment.spanId) ?? 0) + length);
  }
  return nanosBySpanId;
}
