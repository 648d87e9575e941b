// The trace page's pure parts: time ruler ticks, the zoom window, search within a trace,
// critical-path segments per span, trace statistics and attribute display. No DOM, so they
// are unit-tested and cheap enough for 100k-span traces.
import type { CriticalPathSegment } from './critical-path';
import { formatAnyValue } from './format';
import type { OtlpKeyValue, TraceSpan } from './trace-model';
import type { SpanTree, SpanTreeNode } from './tree';

/** A window of the trace's time axis, in nanoseconds since the trace start. */
export interface TimeWindow {
  readonly startNanos: number;
  readonly endNanos: number;
}

export interface RulerTick {
  /** Offset from the trace start. */
  readonly offsetNanos: number;
  /** Position within the window, 0..1. */
  readonly fraction: number;
}

/**
 * Ticks at a round step (1, 2 or 5 × 10^n ns) so that about `targetCount` of them fall inside
 * the window. The first tick is the first multiple of the step at or after the window start.
 */
export function rulerTicks(window: TimeWindow, targetCount: number): RulerTick[] {
  const span = window.endNanos - window.startNanos;
  if (!(span > 0) || targetCount < 1) return [];
  const rough = span / targetCount;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude;
  const ticks: RulerTick[] = [];
  const first = Math.ceil(window.startNanos / step) * step;
  for (let offset = first; offset <= window.endNanos + step * 1e-9; offset += step) {
    ticks.push({ offsetNanos: offset, fraction: (offset - window.startNanos) / span });
    if (ticks.length > targetCount * 3) break;
  }
  return ticks;
}

/** The smallest window a user can zoom to, so bars never divide by zero. */
export const MIN_WINDOW_NANOS = 1_000;

/**
 * `window` clamped into the trace `[0, traceNanos]` and at least `MIN_WINDOW_NANOS` wide (or
 * the whole trace when it is shorter), keeping its position where possible.
 */
export function clampWindow(window: TimeWindow, traceNanos: number): TimeWindow {
  const total = Math.max(traceNanos, 0);
  const minimum = Math.min(MIN_WINDOW_NANOS, total);
  let start = Math.min(window.startNanos, window.endNanos);
  let end = Math.max(window.startNanos, window.endNanos);
  if (end - start < minimum) {
    const middle = (start + end) / 2;
    start = middle - minimum / 2;
    end = middle + minimum / 2;
  }
  const width = Math.min(end - start, total);
  start = Math.min(Math.max(start, 0), total - width);
  return { startNanos: start, endNanos: start + width };
}

/** `window` zoomed by `factor` (< 1 zooms in) around the point at `anchorFraction` of it. */
export function zoomWindow(window: TimeWindow, factor: number, anchorFraction: number, traceNanos: number): TimeWindow {
  const width = window.endNanos - window.startNanos;
  const anchor = window.startNanos + width * anchorFraction;
  const newWidth = width * factor;
  return clampWindow({ startNanos: anchor - newWidth * anchorFraction, endNanos: anchor - newWidth * anchorFraction + newWidth }, traceNanos);
}

/** A span's bar within the window as left/width fractions; null when it lies outside. */
export function barGeometry(startNanos: number, endNanos: number, window: TimeWindow): { left: number; width: number } | null {
  const span = window.endNanos - window.startNanos;
  if (span <= 0 || endNanos < window.startNanos || startNanos > window.endNanos) return null;
  const left = (Math.max(startNanos, window.startNanos) - window.startNanos) / span;
  const right = (Math.min(endNanos, window.endNanos) - window.startNanos) / span;
  return { left, width: right - left };
}

/** The critical path's segments grouped by span, for drawing them on each span's bar. */
export function segmentsBySpanId(segments: readonly CriticalPathSegment[]): Map<string, CriticalPathSegment[]> {
  const bySpan = new Map<string, CriticalPathSegment[]>();
  for (const segment of segments) {
    const list = bySpan.get(segment.spanId);
    if (list) list.push(segment);
    else bySpan.set(segment.spanId, [segment]);
  }
  return bySpan;
}

/** An attribute value as text, the way the detail panel and the search show it. */
export const anyValueToText = formatAnyValue;

/**
 * Find in trace. Every word must occur (case-insensitive) in the span's service, name, IDs,
 * status message, attribute keys or values, resource attribute values or event names;
 * `key=value` words match one attribute exactly. Matches come in waterfall (pre-order) order.
 *
 * The lower-cased text of each span is built once per trace, on the first search, so each
 * keystroke is one `includes` per span and word (a 100k-span trace: milliseconds, not a
 * re-read of every attribute). Resources are shared by many spans and cached once each.
 */
export class TraceSearchIndex<Span extends TraceSpan> {
  private readonly nodes: readonly SpanTreeNode<Span>[];
  private readonly texts: string[];
  /** `\u0001key=value\u0001…` per span, for exact `key=value` words. */
  private readonly pairs: string[];
  private readonly resourceTexts: string[];
  private readonly resourcePairs: string[];
  private readonly resourceIndexOfSpan: Int32Array;

  constructor(tree: SpanTree<Span>) {
    this.nodes = tree.preorder;
    this.texts = new Array<string>(this.nodes.length);
    this.pairs = new Array<string>(this.nodes.length);
    this.resourceTexts = [];
    this.resourcePairs = [];
    this.resourceIndexOfSpan = new Int32Array(this.nodes.length);
    const resourceIndex = new Map<readonly OtlpKeyValue[], number>();
    this.nodes.forEach((node, index) => {
      const span = node.span;
      let resource = resourceIndex.get(span.resourceAttributes);
      if (resource === undefined) {
        resource = this.resourceTexts.length;
        resourceIndex.set(span.resourceAttributes, resource);
        this.resourceTexts.push(attributeText(span.resourceAttributes));
        this.resourcePairs.push(attributePairs(span.resourceAttributes));
      }
      this.resourceIndexOfSpan[index] = resource;
      this.texts[index] = [
        span.serviceName,
        span.name,
        span.spanId,
        span.statusMessage,
        attributeText(span.attributes),
        ...span.events.map((event) => event.name),
      ]
        .join('\u0000')
        .toLowerCase();
      this.pairs[index] = attributePairs(span.attributes);
    });
  }

  search(query: string): SpanTreeNode<Span>[] {
    const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) return [];
    const matches: SpanTreeNode<Span>[] = [];
    for (let index = 0; index < this.nodes.length; index += 1) {
      const resource = this.resourceIndexOfSpan[index]!;
      const matchesAll = words.every((word) => {
        if (word.indexOf('=') > 0) {
          const needle = `\u0001${word}\u0001`;
          return this.pairs[index]!.includes(needle) || this.resourcePairs[resource]!.includes(needle);
        }
        return this.texts[index]!.includes(word) || this.resourceTexts[resource]!.includes(word);
      });
      if (matchesAll) matches.push(this.nodes[index]!);
    }
    return matches;
  }
}

function attributeText(attributes: readonly OtlpKeyValue[]): string {
  return attributes
    .map((attribute) => `${attribute.key}\u0000${anyValueToText(attribute.value)}`)
    .join('\u0000')
    .toLowerCase();
}

function attributePairs(attributes: readonly OtlpKeyValue[]): string {
  return `\u0001${attributes.map((attribute) => `${attribute.key}=${anyValueToText(attribute.value)}`.toLowerCase()).join('\u0001')}\u0001`;
}

/** One search without keeping the index (tests, small traces). */
export function searchSpans<Span extends TraceSpan>(tree: SpanTree<Span>, query: string): SpanTreeNode<Span>[] {
  return new TraceSearchIndex(tree).search(query);
}

/** The span IDs to expand so that `node` is visible: every collapsed ancestor. */
export function collapsedAncestors<Span extends TraceSpan>(node: SpanTreeNode<Span>, collapsed: ReadonlySet<string>): string[] {
  const toExpand: string[] = [];
  for (let ancestor = node.parent; ancestor; ancestor = ancestor.parent) {
    if (collapsed.has(ancestor.span.spanId)) toExpand.push(ancestor.span.spanId);
  }
  return toExpand;
}

export interface ServiceStats {
  readonly serviceName: string;
  readonly spanCount: number;
  readonly errorCount: number;
}

export interface TraceStats {
  readonly spanCount: number;
  readonly errorCount: number;
  readonly maxDepth: number;
  /** By span count, highest first. */
  readonly services: readonly ServiceStats[];
}

export function traceStats<Span extends TraceSpan>(tree: SpanTree<Span>): TraceStats {
  const byService = new Map<string, { spanCount: number; errorCount: number }>();
  let errorCount = 0;
  let maxDepth = 0;
  for (const node of tree.preorder) {
    const isError = node.span.statusCode === 'error';
    if (isError) errorCount += 1;
    if (node.depth > maxDepth) maxDepth = node.depth;
    const entry = byService.get(node.span.serviceName) ?? { spanCount: 0, errorCount: 0 };
    entry.spanCount += 1;
    if (isError) entry.errorCount += 1;
    byService.set(node.span.serviceName, entry);
  }
  const services = [...byService.entries()]
    .map(([serviceName, entry]) => ({ serviceName, ...entry }))
    .sort((left, right) => right.spanCount - left.spanCount || left.serviceName.localeCompare(right.serviceName));
  return { spanCount: tree.preorder.length, errorCount, maxDepth: tree.preorder.length ? maxDepth + 1 : 0, services };
}

/** Every span with children, to collapse all at once (the roots stay expanded). */
export function parentSpanIds<Span extends TraceSpan>(tree: SpanTree<Span>, belowDepth = 1): Set<string> {
  const ids = new Set<string>();
  for (const node of tree.preorder) {
    if (node.children.length > 0 && node.depth >= belowDepth) ids.add(node.span.spanId);
  }
  return ids;
}
