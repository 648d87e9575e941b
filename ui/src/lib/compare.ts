/**
 * Side-by-side comparison of two traces of the same operation (e.g. a slow and a normal
 * request). Span IDs differ between traces, so spans are matched by their path: the
 * (service, span name) steps from the root down, each with an occurrence index counting
 * earlier siblings (by start time) with the same service and name — so the third `SELECT` under
 * a handler meets the third `SELECT` of the other trace.
 */
import type { SpanTree, SpanTreeNode, TreeableSpan } from './tree';

export interface ComparableSpan extends TreeableSpan {
  readonly serviceName: string;
  readonly name: string;
  readonly durationNanos: number;
}

export interface PathStep {
  readonly serviceName: string;
  readonly name: string;
  /** 0 for the first sibling with this service and name. */
  readonly occurrence: number;
}

export type PathComparisonStatus = 'missing' | 'added' | 'slower' | 'faster' | 'unchanged';

export interface PathComparisonRow {
  /** Identifies the path across both traces; look rows up with `rowByPathId`. */
  readonly pathId: number;
  readonly parentPathId: number | null;
  readonly depth: number;
  /** The last step of the path; `describePath` gives the whole of it. */
  readonly step: PathStep;
  /** `missing`: only in A (the baseline). `added`: only in B. */
  readonly status: PathComparisonStatus;
  readonly spanIdInA: string | null;
  readonly spanIdInB: string | null;
  readonly durationNanosA: number | null;
  readonly durationNanosB: number | null;
  /** B − A: positive means B is slower. Null unless the path is in both traces. */
  readonly deltaNanos: number | null;
  /** (B − A) / A; Infinity when A took no time and B did. Null unless in both traces. */
  readonly relativeDelta: number | null;
}

export interface TraceComparison {
  /** Merged tree in pre-order: A's order, with paths only in B after their siblings from A. */
  readonly rows: readonly PathComparisonRow[];
  readonly rowByPathId: ReadonlyMap<number, PathComparisonRow>;
  readonly countByStatus: Readonly<Record<PathComparisonStatus, number>>;
}

export interface CompareTracesOptions {
  /** A relative change beyond this is slower/faster, e.g. 0.1 for more than ±10 %. Default 0.1. */
  readonly relativeThreshold?: number;
  /** Changes smaller than this are `unchanged` whatever their ratio (µs jitter on tiny spans). Default 0. */
  readonly minimumDeltaNanos?: number;
}

interface PathRecord<Span extends ComparableSpan> {
  readonly pathId: number;
  readonly parentPathId: number | null;
  readonly depth: number;
  readonly step: PathStep;
  readonly childPathIds: number[];
  nodeInA: SpanTreeNode<Span> | null;
  nodeInB: SpanTreeNode<Span> | null;
}

const NO_PARENT_PATH = -1;

export function compareTraces<Span extends ComparableSpan>(
  treeA: SpanTree<Span>,
  treeB: SpanTree<Span>,
  options: CompareTracesOptions = {},
): TraceComparison {
  const relativeThreshold = options.relativeThreshold ?? 0.1;
  const minimumDeltaNanos = options.minimumDeltaNanos ?? 0;

  const paths: PathRecord<Span>[] = [];
  const rootPathIds: number[] = [];
  // JSON keys are injective for any service or span name; string concatenation is not.
  const pathIdByKey = new Map<string, number>();

  const assignPaths = (tree: SpanTree<Span>, side: 'nodeInA' | 'nodeInB'): void => {
    // A path holds at most one span per trace, so siblings can be counted per parent path.
    const occurrencesSoFar = new Map<string, number>();
    const pathIdByPreorderIndex: number[] = new Array<number>(tree.preorder.length);
    // Pre-order visits parents first and siblings by start time, as occurrence indices need.
    for (const node of tree.preorder) {
      const parentPathId = node.parent === null ? NO_PARENT_PATH : pathIdByPreorderIndex[node.parent.preorderIndex]!;
      const siblingKey = JSON.stringify([parentPathId, node.span.serviceName, node.span.name]);
      const occurrence = occurrencesSoFar.get(siblingKey) ?? 0;
      occurrencesSoFar.set(siblingKey, occurrence + 1);
      const pathKey = JSON.stringify([parentPathId, node.span.serviceName, node.span.name, occurrence]);
      let pathId = pathIdByKey.get(pathKey);
      if (pathId === undefined) {
        pathId = paths.length;
        pathIdByKey.set(pathKey, pathId);
        const parentPath = parentPathId === NO_PARENT_PATH ? null : paths[parentPathId]!;
        paths.push({
          pathId,
          parentPathId: parentPath === null ? null : parentPathId,
          depth: parentPath === null ? 0 : parentPath.depth + 1,
          step: { serviceName: node.span.serviceName, name: node.span.name, occurrence },
          childPathIds: [],
          nodeInA: null,
          nodeInB: null,
        });
        (parentPath === null ? rootPathIds : parentPath.childPathIds).push(pathId);
      }
      paths[pathId]![side] = node;
      pathIdByPreorderIndex[node.preorderIndex] = pathId;
    }
  };
  assignPaths(treeA, 'nodeInA');
  assignPaths(treeB, 'nodeInB');

  const countByStatus: Record<PathComparisonStatus, number> = {
    missing: 0,
    added: 0,
    slower: 0,
    faster: 0,
    unchanged: 0,
  };
  const rows: PathComparisonRow[] = [];
  const rowByPathId = new Map<number, PathComparisonRow>();
  const stack: number[] = [...rootPathIds].reverse();
  while (stack.length > 0) {
    const path = paths[stack.pop()!]!;
    const row = comparePath(path, relativeThreshold, minimumDeltaNanos);
    countByStatus[row.status] += 1;
    rows.push(row);
    rowByPathId.set(row.pathId, row);
    for (let index = path.childPathIds.length - 1; index >= 0; index -= 1) stack.push(path.childPathIds[index]!);
  }
  return { rows, rowByPathId, countByStatus };
}

function comparePath<Span extends ComparableSpan>(
  path: PathRecord<Span>,
  relativeThreshold: number,
  minimumDeltaNanos: number,
): PathComparisonRow {
  const durationNanosA = path.nodeInA?.span.durationNanos ?? null;
  const durationNanosB = path.nodeInB?.span.durationNanos ?? null;
  let status: PathComparisonStatus;
  let deltaNanos: number | null = null;
  let relativeDelta: number | null = null;
  if (durationNanosB === null) {
    status = 'missing';
  } else if (durationNanosA === null) {
    status = 'added';
  } else {
    deltaNanos = durationNanosB - durationNanosA;
    relativeDelta = durationNanosA > 0 ? deltaNanos / durationNanosA : deltaNanos === 0 ? 0 : Infinity;
    if (Math.abs(deltaNanos) < minimumDeltaNanos || Math.abs(relativeDelta) <= relativeThreshold) {
      status = 'unchanged';
    } else {
      status = deltaNanos > 0 ? 'slower' : 'faster';
    }
  }
  return {
    pathId: path.pathId,
    parentPathId: path.parentPathId,
    depth: path.depth,
    step: path.step,
    status,
    spanIdInA: path.nodeInA?.span.spanId ?? null,
    spanIdInB: path.nodeInB?.span.spanId ?? null,
    durationNanosA,
    durationNanosB,
    deltaNanos,
    relativeDelta,
  };
}

/** The full path of a row, root first (built on demand: storing it per row is O(n·depth)). */
export function describePath(comparison: TraceComparison, pathId: number): PathStep[] {
  const steps: PathStep[] = [];
  let row = comparison.rowByPathId.get(pathId);
  while (row !== undefined) {
    steps.push(row.step);
    row = row.parentPathId === null ? undefined : comparison.rowByPathId.get(row.parentPathId);
  }
  return steps.reverse();
}
