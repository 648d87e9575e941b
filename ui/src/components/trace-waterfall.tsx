// The waterfall: a collapsible span tree on the left, bars on a zoomable time axis on the
// right. Only the rows in view (plus a margin) are in the DOM, so a 100k-span trace renders
// and scrolls like a 100-span one; the row height is fixed so row positions are arithmetic.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { CriticalPathSegment } from '../lib/critical-path';
import { formatDuration, serviceColour } from '../lib/format';
import type { TraceSpan } from '../lib/trace-model';
import { renderedRowIndices } from '../lib/row-window';
import { type TimeWindow, barGeometry, rulerTicks } from '../lib/trace-view';
import type { SpanTreeNode } from '../lib/tree';

export const ROW_HEIGHT = 26;
const OVERSCAN_ROWS = 12;
const INDENT_PIXELS = 14;
/** Below this depth each level indents less, so very deep traces keep room for names. */
const FULL_INDENT_LEVELS = 10;
const DEEP_INDENT_PIXELS = 3;

export function indentPixels(depth: number): number {
  return Math.min(depth, FULL_INDENT_LEVELS) * INDENT_PIXELS + Math.max(depth - FULL_INDENT_LEVELS, 0) * DEEP_INDENT_PIXELS;
}

interface Props {
  rows: readonly SpanTreeNode<TraceSpan>[];
  window: TimeWindow;
  collapsed: ReadonlySet<string>;
  selectedSpanId: string | null;
  /** Kept in the DOM even when scrolled out of view, so `aria-activedescendant` resolves. */
  selectedRowIndex: number | null;
  criticalSegments: ReadonlyMap<string, readonly CriticalPathSegment[]> | null;
  matchSpanIds: ReadonlySet<string>;
  currentMatchSpanId: string | null;
  /** Spans a diagnosis finding is about, marked while the finding is highlighted. */
  highlightSpanIds?: ReadonlySet<string> | null;
  /** Set to scroll a row into view (e.g. after a search jump); the counter re-triggers it. */
  scrollRequest: { spanId: string; serial: number } | null;
  onToggle: (spanId: string) => void;
  onSelect: (spanId: string | null) => void;
  onKeyDown: (event: KeyboardEvent) => void;
}

export function TraceWaterfall(props: Props) {
  const { rows, window, scrollRequest } = props;
  const bodyRef = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewportHeight, setViewportHeight] = useState(600);
  const frame = useRef(0);

  useEffect(() => {
    const body = bodyRef.current;
    if (!body) return;
    const observer = new ResizeObserver(() => setViewportHeight(body.clientHeight));
    observer.observe(body);
    setViewportHeight(body.clientHeight);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (!scrollRequest) return;
    const body = bodyRef.current;
    const index = props.selectedSpanId === scrollRequest.spanId && props.selectedRowIndex !== null
      ? props.selectedRowIndex
      : rows.findIndex((node) => node.span.spanId === scrollRequest.spanId);
    if (!body || index < 0) return;
    const top = index * ROW_HEIGHT;
    if (top < body.scrollTop || top + ROW_HEIGHT > body.scrollTop + body.clientHeight) {
      body.scrollTop = Math.max(top - body.clientHeight / 3, 0);
      setScrollTop(body.scrollTop);
    }
    // Only a new request scrolls; rows changing alone must not move the view.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scrollRequest]);

  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (bodyRef.current) setScrollTop(bodyRef.current.scrollTop);
    });
  };

  const rendered = renderedRowIndices(rows.length, scrollTop, viewportHeight, ROW_HEIGHT, OVERSCAN_ROWS, props.selectedRowIndex);
  const ticks = rulerTicks(window, 6);

  return (
    <div class="waterfall" data-testid="waterfall" data-row-count={rows.length}>
      <div class="waterfall-header">
        <div class="waterfall-tree-cell">Service &amp; operation</div>
        <div class="waterfall-timeline-cell ruler" data-testid="time-ruler" aria-hidden="true">
          {ticks.map((tick) => (
            <span key={tick.offsetNanos} class="ruler-tick" style={{ left: `${tick.fraction * 100}%` }}>
              <span class="ruler-label">{formatDuration(tick.offsetNanos)}</span>
            </span>
          ))}
        </div>
      </div>
      <div
        class="waterfall-body"
        ref={bodyRef}
        onScroll={onScroll}
        tabIndex={0}
        role="tree"
        aria-label="Spans"
        aria-activedescendant={props.selectedSpanId ? `span-row-${props.selectedSpanId}` : undefined}
        onKeyDown={props.onKeyDown}
        data-testid="waterfall-body"
      >
        <div class="waterfall-spacer" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
          <div class="waterfall-gridlines" aria-hidden="true">
            {ticks.map((tick) => (
              <span key={tick.offsetNanos} class="gridline" style={{ left: `${tick.fraction * 100}%` }} />
            ))}
          </div>
          {rendered.map((index) => (
            <WaterfallRow key={rows[index]!.span.spanId} node={rows[index]!} index={index} {...props} />
          ))}
        </div>
      </div>
    </div>
  );
}

function WaterfallRow({
  node,
  index,
  window,
  collapsed,
  selectedSpanId,
  criticalSegments,
  matchSpanIds,
  currentMatchSpanId,
  highlightSpanIds,
  onToggle,
  onSelect,
}: Props & { node: SpanTreeNode<TraceSpan>; index: number }) {
  const span = node.span;
  const isCollapsed = collapsed.has(span.spanId);
  const hasChildren = node.children.length > 0;
  const isError = span.statusCode === 'error';
  const colour = serviceColour(span.serviceName);
  const bar = barGeometry(span.startOffsetNanos, span.endOffsetNanos, window);
  const segments = criticalSegments?.get(span.spanId);
  const onCriticalPath = segments !== undefined;
  const classes = ['waterfall-row'];
  if (span.spanId === selectedSpanId) classes.push('selected');
  if (matchSpanIds.has(span.spanId)) classes.push('search-match');
  if (span.spanId === currentMatchSpanId) classes.push('search-current');
  const highlighted = highlightSpanIds?.has(span.spanId) ?? false;
  if (highlighted) classes.push('finding-highlight');
  if (isError) classes.push('error');
  const windowWidth = window.endNanos - window.startNanos;
  return (
    <div
      id={`span-row-${span.spanId}`}
      class={classes.join(' ')}
      style={{ top: `${index * ROW_HEIGHT}px` }}
      role="treeitem"
      aria-level={node.depth + 1}
      aria-expanded={hasChildren ? !isCollapsed : undefined}
      aria-selected={span.spanId === selectedSpanId}
      data-testid="span-row"
      data-span-id={span.spanId}
      data-service={span.serviceName}
      data-critical={onCriticalPath ? 'true' : 'false'}
      data-error={isError ? 'true' : 'false'}
      data-highlighted={highlighted ? 'true' : undefined}
      onClick={() => onSelect(span.spanId === selectedSpanId ? null : span.spanId)}
    >
      <div class="waterfall-tree-cell" style={{ paddingLeft: `${indentPixels(node.depth) + 4}px` }}>
        {hasChildren ? (
          <button
            type="button"
            class="tree-toggle"
            tabIndex={-1}
            aria-label={isCollapsed ? `Expand ${span.name}` : `Collapse ${span.name}`}
            onClick={(event) => {
              event.stopPropagation();
              onToggle(span.spanId);
            }}
          >
            {isCollapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span class="tree-toggle-placeholder" />
        )}
        <span class="row-service-swatch" style={{ background: colour }} aria-hidden="true" />
        <span class="row-service">{span.serviceName}</span>
        <span class="row-name" title={span.name}>
          {span.name}
        </span>
        {isError && (
          <span class="row-error-icon" title={span.statusMessage || 'error'} aria-label="error">
            !
          </span>
        )}
        {node.orphan && (
          <span class="row-flag" title="The parent span of this span is not in the trace">
            parent missing
          </span>
        )}
        {isCollapsed && <span class="row-hidden-count">+{node.descendantCount}</span>}
      </div>
      <div class="waterfall-timeline-cell">
        {bar && (
          <div
            class={`span-bar${onCriticalPath ? ' on-critical-path' : ''}`}
            style={{ left: `${bar.left * 100}%`, width: `max(${bar.width * 100}%, 2px)`, '--bar-colour': colour }}
          >
            {segments?.map((segment) => {
              const segmentBar = barGeometry(segment.startOffsetNanos, segment.endOffsetNanos, window);
              if (!segmentBar || bar.width <= 0) return null;
              return (
                <span
                  key={segment.startOffsetNanos}
                  class="critical-segment"
                  data-testid="critical-segment"
                  style={{
                    left: `${((segmentBar.left - bar.left) / bar.width) * 100}%`,
                    width: `max(${(segmentBar.width / bar.width) * 100}%, 1px)`,
                  }}
                />
              );
            })}
            {windowWidth > 0 &&
              span.events.map((event, eventIndex) =>
                event.timeOffsetNanos >= window.startNanos && event.timeOffsetNanos <= window.endNanos && bar.width > 0 ? (
                  <span
                    key={eventIndex}
                    class="event-tick"
                    title={event.name}
                    style={{ left: `${(((event.timeOffsetNanos - window.startNanos) / windowWidth - bar.left) / bar.width) * 100}%` }}
                  />
                ) : null,
              )}
          </div>
        )}
        {bar && (
          // The timeline cell keeps a right margin wide enough for this label.
          <span class="span-duration" style={{ left: `calc(${(bar.left + bar.width) * 100}% + 4px)` }}>
            {formatDuration(span.durationNanos)}
          </span>
        )}
      </div>
    </div>
  );
}
