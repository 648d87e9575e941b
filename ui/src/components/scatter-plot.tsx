// Search results as a duration-over-start-time scatter plot, hand-made in SVG: at most 1,000
// points, colours from the theme's CSS variables (so dark mode just works), a tooltip on
// hover, click to open the trace, arrow keys to walk the points in time order.
import { Component } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { TraceSummary } from '../api';
import { formatDuration, formatLocalTimestamp, formatRelativeTime, serviceColour } from '../lib/format';
import { formatTimeTick, linearScale, logScale, sortTraces, startMillis, timeTicks } from '../lib/search-query';
import { navigate } from '../router';

export type YScaleKind = 'linear' | 'log';

interface ScatterPlotProps {
  traces: readonly TraceSummary[];
  /** The trace hovered here or in the table, ringed on top of the others. */
  highlighted: string | null;
  onHighlight: (traceId: string | null) => void;
  /** The clock the "… ago" texts are measured against, the same as the table's. */
  now: number;
}

const HEIGHT = 240;
const MARGIN = { top: 14, right: 20, bottom: 30, left: 68 };

function pointRadius(spanCount: number): number {
  return Math.min(10, Math.max(3.5, 2.2 + Math.sqrt(spanCount) * 0.9));
}

function openTrace(traceId: string, event?: MouseEvent | KeyboardEvent) {
  const href = `/trace/${traceId}`;
  if (event && (event.metaKey || event.ctrlKey)) {
    window.open(href, '_blank', 'noopener');
  } else {
    navigate(href);
  }
}

export function ScatterPlot({ traces, highlighted, onHighlight, now }: ScatterPlotProps) {
  const container = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(900);
  const [scaleKind, setScaleKind] = useState<YScaleKind>(() =>
    window.localStorage?.getItem('weft.search.yScale') === 'log' ? 'log' : 'linear',
  );
  const [hoverFromPlot, setHoverFromPlot] = useState(false);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const update = () => setWidth(Math.max(320, Math.floor(element.clientWidth)));
    update();
    const observer = new ResizeObserver(update);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const model = useMemo(() => {
    const points: PlotPoint[] = traces.map((trace) => ({ trace, x: startMillis(trace), y: trace.durationNanos }));
    const xs = points.map((point) => point.x);
    let xMin = xs.length ? Math.min(...xs) : now - 3_600_000;
    let xMax = xs.length ? Math.max(...xs) : now;
    if (xMax - xMin < 1_000) {
      const middle = (xMin + xMax) / 2;
      xMin = middle - 500;
      xMax = middle + 500;
    } else {
      const pad = (xMax - xMin) * 0.03;
      xMin -= pad;
      xMax += pad;
    }
    const durations = points.map((point) => point.y);
    const maxDuration = durations.length ? Math.max(...durations) : 1e6;
    const minDuration = durations.length ? Math.min(...durations) : 1e6;
    return { points, xMin, xMax, maxDuration, minDuration };
    // `now` only matters without traces; recomputing on every render would re-sort for nothing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [traces]);

  // Scales and axes change with the data, the width and the axis kind; a hover changes none of them.
  const layout = useMemo<PlotLayout>(() => {
    const plotWidth = width - MARGIN.left - MARGIN.right;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const xOf = (millis: number) => MARGIN.left + ((millis - model.xMin) / (model.xMax - model.xMin)) * plotWidth;
    let yOf: (nanos: number) => number;
    let yTicks: number[];
    if (scaleKind === 'log') {
      const scale = logScale(model.minDuration, model.maxDuration);
      const low = Math.log10(scale.min);
      const high = Math.log10(scale.max);
      yOf = (nanos) => MARGIN.top + plotHeight - ((Math.log10(Math.max(nanos, scale.min)) - low) / (high - low)) * plotHeight;
      yTicks = scale.ticks;
    } else {
      const scale = linearScale(model.maxDuration, 5);
      yOf = (nanos) => MARGIN.top + plotHeight - (nanos / scale.max) * plotHeight;
      yTicks = scale.ticks;
    }
    const offsetMinutes = -new Date(model.xMin).getTimezoneOffset();
    const xAxis = timeTicks(model.xMin, model.xMax, Math.max(2, Math.floor(plotWidth / 120)), offsetMinutes);
    return { plotWidth, plotHeight, xOf, yOf, yTicks, xAxis };
  }, [model, width, scaleKind]);
  const { plotWidth, plotHeight, xOf, yOf, yTicks, xAxis } = layout;

  // Errors drawn over successes; sorted once per answer, not on every hover.
  const ordered = useMemo(
    () => [...model.points].sort((a, b) => Number(a.trace.errorCount > 0) - Number(b.trace.errorCount > 0)),
    [model],
  );
  // In time order to the nanosecond, as the table sorts them.
  const byTime = useMemo(() => {
    const order = new Map(sortTraces(traces, { key: 'start', direction: 'asc' }).map((trace, index) => [trace.traceId, index]));
    return [...model.points].sort((a, b) => order.get(a.trace.traceId)! - order.get(b.trace.traceId)!);
  }, [model, traces]);
  const byId = useMemo(() => new Map(model.points.map((point) => [point.trace.traceId, point])), [model]);
  const highlightedPoint = (highlighted !== null ? byId.get(highlighted) : undefined) ?? null;

  const onPointEnter = useCallback(
    (traceId: string) => {
      setHoverFromPlot(true);
      onHighlight(traceId);
    },
    [onHighlight],
  );
  const onPointLeave = useCallback(() => {
    setHoverFromPlot(false);
    onHighlight(null);
  }, [onHighlight]);
  const { errorTraces, slowest } = useMemo(
    () => ({
      errorTraces: traces.filter((trace) => trace.errorCount > 0).length,
      slowest: model.points.reduce<PlotPoint | null>((best, point) => (!best || point.y > best.y ? point : best), null),
    }),
    [traces, model],
  );

  const chooseScale = (kind: YScaleKind) => {
    setScaleKind(kind);
    try {
      window.localStorage?.setItem('weft.search.yScale', kind);
    } catch {
      // Storage may be disabled; the choice then lasts for this page only.
    }
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (byTime.length === 0) return;
    const index = byTime.findIndex((point) => point.trace.traceId === highlighted);
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      event.preventDefault();
      const step = event.key === 'ArrowRight' ? 1 : -1;
      const next = index < 0 ? (step > 0 ? 0 : byTime.length - 1) : Math.min(byTime.length - 1, Math.max(0, index + step));
      setHoverFromPlot(true);
      onHighlight(byTime[next]!.trace.traceId);
    } else if (event.key === 'Enter' && index >= 0) {
      event.preventDefault();
      openTrace(byTime[index]!.trace.traceId, event);
    } else if (event.key === 'Escape') {
      onHighlight(null);
    }
  };

  const tooltipPoint = hoverFromPlot ? highlightedPoint : null;
  const label =
    `Scatter plot of ${traces.length} traces, duration over start time; ${errorTraces} with errors` +
    (slowest ? `; slowest ${formatDuration(slowest.y)} (${slowest.trace.rootServiceName} ${slowest.trace.rootSpanName})` : '') +
    '. Use the left and right arrow keys to move between traces and Enter to open one.';

  return (
    <section class="scatter-card" aria-label="Durations over time">
      <div class="scatter-header">
        <h2 class="scatter-title">Duration over time</h2>
        <div class="scatter-legend" aria-hidden="true">
          <span class="scatter-legend-item">
            <span class="scatter-dot scatter-dot-ok" /> OK
          </span>
          <span class="scatter-legend-item">
            <span class="scatter-dot scatter-dot-error" /> With errors
          </span>
          <span class="scatter-legend-item muted">size = spans</span>
        </div>
        <div class="segmented" role="group" aria-label="Duration axis">
          <button type="button" aria-pressed={scaleKind === 'linear'} onClick={() => chooseScale('linear')}>
            Linear
          </button>
          <button type="button" aria-pressed={scaleKind === 'log'} onClick={() => chooseScale('log')}>
            Log
          </button>
        </div>
      </div>
      <div class="scatter-body" ref={container}>
        <svg
          class="scatter-plot"
          data-testid="scatter-plot"
          width={width}
          height={HEIGHT}
          viewBox={`0 0 ${width} ${HEIGHT}`}
          role="img"
          aria-label={label}
          tabIndex={0}
          onKeyDown={onKeyDown}
          onBlur={() => setHoverFromPlot(false)}
        >
          <rect class="scatter-area" x={MARGIN.left} y={MARGIN.top} width={plotWidth} height={plotHeight} />
          {yTicks.map((tick) => (
            <g key={`y${tick}`}>
              <line class="scatter-grid" x1={MARGIN.left} x2={MARGIN.left + plotWidth} y1={yOf(tick)} y2={yOf(tick)} />
              <text class="scatter-tick" x={MARGIN.left - 8} y={yOf(tick)} text-anchor="end" dominant-baseline="middle">
                {tick === 0 ? '0' : formatDuration(tick)}
              </text>
            </g>
          ))}
          {xAxis.ticks.map((tick) => (
            <g key={`x${tick}`}>
              <line class="scatter-grid scatter-grid-x" x1={xOf(tick)} x2={xOf(tick)} y1={MARGIN.top} y2={MARGIN.top + plotHeight} />
              <text class="scatter-tick" x={xOf(tick)} y={MARGIN.top + plotHeight + 18} text-anchor="middle">
                {formatTimeTick(tick, xAxis.step)}
              </text>
            </g>
          ))}
          <line class="scatter-axis" x1={MARGIN.left} x2={MARGIN.left + plotWidth} y1={MARGIN.top + plotHeight} y2={MARGIN.top + plotHeight} />
          <text
            class="scatter-axis-label"
            transform={`translate(14 ${MARGIN.top + plotHeight / 2}) rotate(-90)`}
            text-anchor="middle"
          >
            Duration
          </text>
          <ScatterPoints points={ordered} layout={layout} onEnter={onPointEnter} onLeave={onPointLeave} />
          {highlightedPoint && (
            // The highlight is one ring drawn over the points, so a hover re-renders it alone. It
            // lets the pointer through: the point under it keeps its hover and its click.
            <circle
              class={`scatter-point scatter-highlight is-highlighted${highlightedPoint.trace.errorCount > 0 ? ' is-error' : ''}`}
              data-testid="scatter-highlight"
              data-trace-id={highlightedPoint.trace.traceId}
              cx={xOf(highlightedPoint.x)}
              cy={yOf(highlightedPoint.y)}
              r={pointRadius(highlightedPoint.trace.spanCount) + 1.5}
              aria-hidden="true"
            />
          )}
        </svg>
        {tooltipPoint && (
          <div
            class="scatter-tooltip"
            role="tooltip"
            data-testid="scatter-tooltip"
            style={{
              left: `${Math.min(xOf(tooltipPoint.x) + 12, width - 260)}px`,
              top: `${Math.max(0, yOf(tooltipPoint.y) - 70)}px`,
            }}
          >
            <div class="tooltip-title">
              <span class="service-swatch" style={{ '--service-colour': serviceColour(tooltipPoint.trace.rootServiceName) }} />
              <strong>{tooltipPoint.trace.rootServiceName}</strong> {tooltipPoint.trace.rootSpanName}
            </div>
            <div>
              <strong>{formatDuration(tooltipPoint.y)}</strong> · {tooltipPoint.trace.spanCount} spans
              {tooltipPoint.trace.errorCount > 0 && <span class="error-text"> · {tooltipPoint.trace.errorCount} errors</span>}
            </div>
            <div class="muted">
              {formatLocalTimestamp(tooltipPoint.x, now)} ({formatRelativeTime(tooltipPoint.x, now)})
            </div>
            <div class="muted mono">{tooltipPoint.trace.traceId}</div>
          </div>
        )}
      </div>
    </section>
  );
}

type PlotPoint = { trace: TraceSummary; x: number; y: number };

interface PlotLayout {
  plotWidth: number;
  plotHeight: number;
  xOf: (millis: number) => number;
  yOf: (nanos: number) => number;
  yTicks: number[];
  xAxis: { step: number; ticks: number[] };
}

interface ScatterPointsProps {
  points: readonly PlotPoint[];
  layout: PlotLayout;
  onEnter: (traceId: string) => void;
  onLeave: () => void;
}

/** Every point, drawn again only when the points or the scales change (never for a hover). */
class ScatterPoints extends Component<ScatterPointsProps> {
  override shouldComponentUpdate(next: ScatterPointsProps): boolean {
    const current = this.props;
    return next.points !== current.points || next.layout !== current.layout || next.onEnter !== current.onEnter || next.onLeave !== current.onLeave;
  }

  override render() {
    const { points, layout, onEnter, onLeave } = this.props;
    return (
      <g class="scatter-points">
        {points.map(({ trace, x, y }) => (
          <circle
            key={trace.traceId}
            data-testid="scatter-point"
            data-trace-id={trace.traceId}
            class={`scatter-point${trace.errorCount > 0 ? ' is-error' : ''}`}
            cx={layout.xOf(x)}
            cy={layout.yOf(y)}
            r={pointRadius(trace.spanCount)}
            onMouseEnter={() => onEnter(trace.traceId)}
            onMouseLeave={onLeave}
            onClick={(event) => openTrace(trace.traceId, event)}
          />
        ))}
      </g>
    );
  }
}
