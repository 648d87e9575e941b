/**
 * Side-by-side comparison of two traces of the same operation (e.g. a slow and a normal
 * request). Span IDs differ between traces, so spans are matched by their path: the
 * (service, span name) steps from the root down, each with an occurrence index counting
 * earlier siblings (by start time) with the same service and name — so the third `SELECT` under
 * a handler meets the third `SELECT` of the other trace.
 *
 * Two steps, so a page can change thresholds without matching the traces again:
 * `alignTraces` matches the paths (linear in the number of spans, the costly part), and
 * `classifyPaths` marks each aligned path added, missing, slower, faster or unchanged (a cheap
 * pass over the paths). `compareTraces` does both.
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

/** A path present in A, in B or in both, with what does not depend on thresholds. */
export interface AlignedPath {
  /**
   * Identifies the path across both traces: its position in the alignment's pre-order, so
   * `rows[pathId]` is this path's row and IDs stay the same whatever the thresholds.
   */
  readonly pathId: number;
  readonly parentPathId: number | null;
  readonly depth: number;
  /** The last step of the path; `describePath` gives the whole of it. */
  readonly step: PathStep;
  readonly spanIdInA: string | null;
  readonly spanIdInB: string | null;
  readonly durationNanosA: number | null;
  readonly durationNanosB: number | null;
  /** B − A: positive means B is slower. Null unless the path is in both traces. */
  readonly deltaNanos: number | null;
  /** (B − A) / A; Infinity when A took no time and B did. Null unless in both traces. */
  readonly relativeDelta: number | null;
  /** Paths under the same parent path with this service and name (this one included) in A, and in B. */
  readonly siblingCountA: number;
  readonly siblingCountB: number;
}

export interface PathComparisonRow extends AlignedPath {
  /** `missing`: only in A (the baseline). `added`: only in B. */
  readonly status: PathComparisonStatus;
}

export interface TraceAlignment {
  /** Merged tree in pre-order: A's order, with paths only in B after their siblings from A. */
  readonly paths: readonly AlignedPath[];
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

/** Same-named siblings under one parent path: their paths by occurrence, and how many each trace has. */
interface SiblingGroup {
  readonly pathIds: number[];
  countA: number;
  countB: number;
}

interface PathRecord<Span extends ComparableSpan> {
  readonly parentRecord: number;
  readonly step: PathStep;
  readonly group: SiblingGroup;
  /** Null until the first child (most paths are leaves). */
  childRecords: number[] | null;
  nodeInA: SpanTreeNode<Span> | null;
  nodeInB: SpanTreeNode<Span> | null;
}

const NO_PARENT = -1;

/**
 * Matches the spans of A and B by path. Linear in the number of spans, without recursion and
 * without building a string per span: each distinct (service, name) pair gets a number (nested
 * Maps, so any characters are fine), and a sibling group is keyed by that number and the parent.
 */
export function alignTraces<Span extends ComparableSpan>(treeA: SpanTree<Span>, treeB: SpanTree<Span>): TraceAlignment {
  const records: PathRecord<Span>[] = [];
  const rootRecords: number[] = [];
  const stepNumbers = new Map<string, Map<string, number>>();
  let stepCount = 0;
  const groups = new Map<number, SiblingGroup>();
  // A group's key is stepNumber × parentSlots + parent + 1: unique, as both are below
  // parentSlots, and exact, as parentSlots² stays far below 2^53 for any real trace.
  const parentSlots = treeA.preorder.length + treeB.preorder.length + 1;

  const assign = (tree: SpanTree<Span>, inA: boolean): void => {
    const recordByPreorderIndex = new Int32Array(tree.preorder.length);
    // Pre-order visits parents first and siblings by start time, as occurrence indices need.
    for (const node of tree.preorder) {
      const parentRecord = node.parent === null ? NO_PARENT : recordByPreorderIndex[node.parent.preorderIndex]!;
      const { serviceName, name } = node.span;
      let byName = stepNumbers.get(serviceName);
      if (byName === undefined) {
        byName = new Map();
        stepNumbers.set(serviceName, byName);
      }
      let stepNumber = byName.get(name);
      if (stepNumber === undefined) {
        stepNumber = stepCount++;
        byName.set(name, stepNumber);
      }
      const groupKey = stepNumber * parentSlots + (parentRecord + 1);
      let group = groups.get(groupKey);
      if (group === undefined) {
        group = { pathIds: [], countA: 0, countB: 0 };
        groups.set(groupKey, group);
      }
      const occurrence = inA ? group.countA++ : group.countB++;
      let recordIndex: number;
      if (occurrence < group.pathIds.length) {
        recordIndex = group.pathIds[occurrence]!;
      } else {
        recordIndex = records.length;
        records.push({
          parentRecord,
          step: { serviceName, name, occurrence },
          group,
          childRecords: null,
          nodeInA: null,
          nodeInB: null,
        });
        group.pathIds.push(recordIndex);
        if (parentRecord === NO_PARENT) rootRecords.push(recordIndex);
        else (records[parentRecord]!.childRecords ??= []).push(recordIndex);
      }
      if (inA) records[recordIndex]!.nodeInA = node;
      else records[recordIndex]!.nodeInB = node;
      recordByPreorderIndex[node.preorderIndex] = recordIndex;
    }
  };
  assign(treeA, true);
  assign(treeB, false);

  // Number the paths in pre-order (parents come first, so their number is known).
  const paths: AlignedPath[] = [];
  const pathIdByRecord = new Int32Array(records.length);
  const depthByRecord = new Int32Array(records.length);
  const stack: number[] = [];
  for (let index = rootRecords.length - 1; index >= 0; index -= 1) stack.push(rootRecords[index]!);
  while (stack.length > 0) {
    const recordIndex = stack.pop()!;
    const record = records[recordIndex]!;
    const pathId = paths.length;
    pathIdByRecord[recordIndex] = pathId;
    const hasParent = record.parentRecord !== NO_PARENT;
    const depth = hasParent ? depthByRecord[record.parentRecord]! + 1 : 0;
    depthByRecord[recordIndex] = depth;
    const durationNanosA = record.nodeInA?.span.durationNanos ?? null;
    const durationNanosB = record.nodeInB?.span.durationNanos ?? null;
    let deltaNanos: number | null = null;
    let relativeDelta: number | null = null;
    if (durationNanosA !== null && durationNanosB !== null) {
      deltaNanos = durationNanosB - durationNanosA;
      relativeDelta = durationNanosA > 0 ? deltaNanos / durationNanosA : deltaNanos === 0 ? 0 : Infinity;
    }
    paths.push({
      pathId,
      parentPathId: hasParent ? pathIdByRecord[record.parentRecord]! : null,
      depth,
      step: record.step,
      spanIdInA: record.nodeInA?.span.spanId ?? null,
      spanIdInB: record.nodeInB?.span.spanId ?? null,
      durationNanosA,
      durationNanosB,
      deltaNanos,
      relativeDelta,
      siblingCountA: record.group.countA,
      siblingCountB: record.group.countB,
    });
    const children = record.childRecords;
    if (children !== null) for (let index = children.length - 1; index >= 0; index -= 1) stack.push(children[index]!);
  }
  return { paths };
}

/** The status of one aligned path under the thresholds. */
export function pathStatus(path: AlignedPath, relativeThreshold = 0.1, minimumDeltaNanos = 0): PathComparisonStatus {
  if (path.durationNanosB === null) return 'missing';
  if (path.durationNanosA === null) return 'added';
  const deltaNanos = path.deltaNanos!;
  if (Math.abs(deltaNanos) < minimumDeltaNanos || Math.abs(path.relativeDelta!) <= relativeThreshold) return 'unchanged';
  return deltaNanos > 0 ? 'slower' : 'faster';
}

/** Marks every aligned path: one pass, no matching; call again when the thresholds change. */
export function classifyPaths(alignment: TraceAlignment, options: CompareTracesOptions = {}): TraceComparison {
  const relativeThreshold = options.relativeThreshold ?? 0.1;
  const minimumDeltaNanos = options.minimumDeltaNanos ?? 0;
  const countByStatus: Record<PathComparisonStatus, number> = {
    missing: 0,
    added: 0,
    slower: 0,
    faster: 0,
    unchanged: 0,
  };
  const { paths } = alignment;
  const rows = new Array<PathComparisonRow>(paths.length);
  for (let index = 0; index < paths.length; index += 1) {
    const path = paths[index]!;
    const status = pathStatus(path, relativeThreshold, minimumDeltaNanos);
    countByStatus[status] += 1;
    rows[index] = {
      pathId: path.pathId,
      parentPathId: path.parentPathId,
      depth: path.depth,
      step: path.step,
      status,
      spanIdInA: path.spanIdInA,
      spanIdInB: path.spanIdInB,
      durationNanosA: path.durationNanosA,
      durationNanosB: path.durationNanosB,
      deltaNanos: path.deltaNanos,
      relativeDelta: path.relativeDelta,
      siblingCountA: path.siblingCountA,
      siblingCountB: path.siblingCountB,
    };
  }
  return { rows, rowByPathId: new RowsByPathId(rows), countByStatus };
}

export function compareTraces<Span extends ComparableSpan>(
  treeA: SpanTree<Span>,
  treeB: SpanTree<Span>,
  options: CompareTracesOptions = {},
): TraceComparison {
  return classifyPaths(alignTraces(treeA, treeB), options);
}

/** Path IDs are row positions, so the lookup is the row array itself: nothing to build per classification. */
class RowsByPathId implements ReadonlyMap<number, PathComparisonRow> {
  constructor(private readonly rows: readonly PathComparisonRow[]) {}

  get size(): number {
    return this.rows.length;
  }

  get(pathId: number): PathComparisonRow | undefined {
    return Number.isInteger(pathId) && pathId >= 0 ? this.rows[pathId] : undefined;
  }

  has(pathId: number): boolean {
    return this.get(pathId) !== undefined;
  }

  forEach(callback: (value: PathComparisonRow, key: number, map: ReadonlyMap<number, PathComparisonRow>) => void, thisArg?: unknown): void {
    this.rows.forEach((row) => callback.call(thisArg, row, row.pathId, this));
  }

  *entries(): MapIterator<[number, PathComparisonRow]> {
    for (const row of this.rows) yield [row.pathId, row];
  }

  *keys(): MapIterator<number> {
    for (const row of this.rows) yield row.pathId;
  }

  *values(): MapIterator<PathComparisonRow> {
    yield* this.rows;
  }

  [Symbol.iterator](): MapIterator<[number, PathComparisonRow]> {
    return this.entries();
  }
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
