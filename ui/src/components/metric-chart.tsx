// A time-series chart on uPlot for the service dashboard: theme colours from the CSS variables
// (re-created when the OS theme flips, keeping the group's zoom), sized to its container,
// drag-to-zoom on x with a double-click to reset, and zoom and crosshair shared by every chart
// of a ChartGroup. The latency chart also carries exemplars: real, focusable buttons laid over
// the plot that open the trace behind each dot; they arrive on their own and are laid over the
// existing chart, which is not rebuilt for them.
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './metric-chart.css';
import { usePrefersDark } from '../hooks';
import {
  countDefinedPoints,
  describeExemplarReason,
  type ExemplarPoint,
  formatMillis,
  isolatedIndices,
  withAlpha,
} from '../lib/metrics-view';

/** One line of a chart; `colour` names a theme variable such as `--accent`, or is a `#rrggbb` palette colour. */
export interface ChartSeries {
  label: string;
  values: (number | null)[];
  colour: string;
  fill?: boolean;
}

/** Charts that zoom together and share a crosshair. */
export interface ChartGroup {
  key: string;
  charts: Set<uPlot>;
  syncing: boolean;
  /**
   * The x range the group is zoomed to (Unix seconds), with the x extent of the data it was
   * chosen on; null when showing everything. A chart created later (the theme flipped, say)
   * opens at this range so it stays in step with the others.
   */
  zoom: { min: number; max: number; first: number; last: number } | null;
}

let groupCounter = 0;

export function useChartGroup(): ChartGroup {
  return useMemo(() => {
    groupCounter += 1;
    return { key: `weft-charts-${groupCounter}`, charts: new Set<uPlot>(), syncing: false, zoom: null };
  }, []);
}

/** The group's zoom when it applies to a chart of `x` (the same data extent), else null. */
function zoomFor(group: ChartGroup, x: readonly number[]): { min: number; max: number } | null {
  const zoom = group.zoom;
  if (!zoom || x.length === 0 || x[0] !== zoom.first || x[x.length - 1] !== zoom.last) return null;
  return { min: zoom.min, max: zoom.max };
}

/** Remembers `[min, max]` as the group's zoom, or forgets it when it shows all of `x`. */
function rememberZoom(group: ChartGroup, x: readonly number[], min: number, max: number) {
  const first = x[0];
  const last = x[x.length - 1];
  if (first === undefined || last === undefined) return;
  const slack = (last - first) * 1e-6;
  group.zoom = min <= first + slack && max >= last - slack ? null : { min, max, first, last };
}

export interface MetricChartProps {
  /** `calls`, `errors` or `latency`: the chart's data-chart attribute. */
  chart: string;
  title: string;
  /** What a y value means, for the axis label, e.g. "calls/s"; left out when the values carry it. */
  unit?: string;
  x: number[];
  series: ChartSeries[];
  format: (value: number) => string;
  group: ChartGroup;
  height?: number;
  /** The smallest top of the y-axis, so a flat line at zero still has a scale. */
  minTop?: number;
  exemplars?: ExemplarPoint[];
  onExemplar?: (exemplar: ExemplarPoint) => void;
  description?: string;
}

function themeColour(style: CSSStyleDeclaration, variable: string): string {
  if (variable.startsWith('#')) return variable;
  return style.getPropertyValue(variable).trim() || '#888888';
}

interface Dot {
  element: HTMLButtonElement;
  exemplar: ExemplarPoint;
}

/** Puts each exemplar button where its value is on the plot, hiding those outside the zoom. */
function placeDots(u: uPlot, dots: readonly Dot[]) {
  const width = u.over.clientWidth;
  const plotHeight = u.over.clientHeight;
  for (const dot of dots) {
    const left = u.valToPos(dot.exemplar.x, 'x');
    const top = u.valToPos(dot.exemplar.y, 'y');
    const visible = Number.isFinite(left) && Number.isFinite(top) && left >= -1 && left <= width + 1 && top >= -1 && top <= plotHeight + 1;
    dot.element.style.display = visible ? '' : 'none';
    dot.element.style.left = `${left.toFixed(1)}px`;
    dot.element.style.top = `${top.toFixed(1)}px`;
  }
}

export function MetricChart(props: MetricChartProps) {
  const { chart, title, unit, x, series, format, group, height = 220, minTop = 1, exemplars, onExemplar, description } = props;
  const dark = usePrefersDark();
  const hostRef = useRef<HTMLDivElement>(null);
  const figureRef = useRef<HTMLElement>(null);
  const onExemplarRef = useRef(onExemplar);
  onExemplarRef.current = onExemplar;
  const points = useMemo(() => countDefinedPoints(series.map((entry) => entry.values)), [series]);

  // The chart of the moment, and the exemplar layer that outlives it: exemplars come and go
  // without rebuilding the chart, and a rebuilt chart takes the layer over as it is.
  const plotRef = useRef<uPlot | null>(null);
  const dotsRef = useRef<Dot[]>([]);
  const layerRef = useRef<HTMLDivElement | null>(null);
  // The y-axis reaches the slowest exemplar so every dot is on the plot; read by the range
  // function at each ranging, so it follows the exemplars without a rebuild.
  const exemplarMaxRef = useRef(0);
  exemplarMaxRef.current = useMemo(() => exemplars?.reduce((max, entry) => Math.max(max, entry.y), 0) ?? 0, [exemplars]);

  useEffect(() => {
    const host = hostRef.current;
    const figure = figureRef.current;
    if (!host || !figure) return undefined;
    const style = getComputedStyle(document.documentElement);
    const text = themeColour(style, '--text-muted');
    const grid = withAlpha(themeColour(style, '--border'), dark ? 0.7 : 0.8);
    const font = `11px ${style.getPropertyValue('--font').trim() || 'sans-serif'}`;
    // A chart built while the group is zoomed (the theme flipped, say) opens at that zoom.
    const initialZoom = zoomFor(group, x);

    const axisValues = (_u: uPlot, splits: number[]) => splits.map((value) => (value === null || value === undefined ? '' : format(value)));
    const options: uPlot.Options = {
      width: Math.max(200, host.clientWidth),
      height,
      cursor: {
        sync: {
          key: group.key,
          // Zoom is shared through the setScale hook below; the crosshair through the sync key.
          filters: { pub: (type: string) => type !== 'mousedown' && type !== 'mouseup' && type !== 'dblclick' },
        },
        drag: { x: true, y: false, setScale: true },
        points: { size: 7, width: 2 },
        focus: { prox: 16 },
      },
      focus: { alpha: 0.35 },
      legend: { show: true, live: true },
      scales: {
        // uPlot applies an initial min/max once and keeps auto-ranging (a double-click resets it).
        x: { time: true, ...(initialZoom ?? {}) },
        y: {
          range: (_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => {
            const top = Math.max(minTop, max ?? 0, exemplarMaxRef.current);
            const [, niceTop] = uPlot.rangeNum(0, top, 0.08, true);
            return [0, niceTop ?? top];
          },
        },
      },
      axes: [
        {
          stroke: text,
          font,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, width: 1, size: 4 },
          space: 70,
        },
        {
          stroke: text,
          font,
          grid: { stroke: grid, width: 1 },
          ticks: { show: false },
          values: axisValues,
          size: 58,
          space: 28,
          ...(unit ? { label: unit, labelFont: font, labelSize: 14, labelGap: 0 } : {}),
        },
      ],
      series: [
        {},
        ...series.map((entry): uPlot.Series => {
          const colour = themeColour(style, entry.colour);
          const line: uPlot.Series = {
            label: entry.label,
            stroke: colour,
            width: 1.75,
            spanGaps: false,
            value: (_u: uPlot, value: number | null) => (value === null || value === undefined ? '\u2014' : format(value)),
            points: {
              size: 6,
              fill: colour,
              stroke: colour,
              // A bucket between two empty ones has no line through it: draw it as a dot.
              filter: (u: uPlot, seriesIndex: number, show: boolean) =>
                show ? null : isolatedIndices((u.data[seriesIndex] ?? []) as (number | null)[]),
            },
          };
          if (entry.fill) line.fill = withAlpha(colour, dark ? 0.18 : 0.12);
          return line;
        }),
      ],
      hooks: {
        setScale: [
          (u: uPlot, key: string) => {
            if (key !== 'x') return;
            const { min, max } = u.scales.x ?? {};
            if (min === undefined || max === undefined || min === null || max === null) return;
            // The visible x range (Unix seconds), for tests and for anyone inspecting the page.
            figure.dataset.xMin = String(Math.round(min));
            figure.dataset.xMax = String(Math.round(max));
            if (group.syncing) return;
            rememberZoom(group, x, min, max);
            group.syncing = true;
            try {
              for (const other of group.charts) {
                // Batched, so the other chart's hook runs now, sees `syncing` and does not echo.
                if (other !== u) other.batch(() => other.setScale('x', { min, max }));
              }
            } finally {
              group.syncing = false;
            }
          },
        ],
        // Exemplar dots follow every redraw (zoom, resize, new y range).
        draw: [(u: uPlot) => placeDots(u, dotsRef.current)],
      },
    };

    const data: uPlot.AlignedData = [x, ...series.map((entry) => entry.values)];
    const plot = new uPlot(options, data, host);
    group.charts.add(plot);
    plotRef.current = plot;
    if (layerRef.current) plot.over.appendChild(layerRef.current);

    const resize = new ResizeObserver(() => {
      const width = Math.max(200, host.clientWidth);
      if (Math.abs(width - plot.width) >= 1) plot.setSize({ width, height });
    });
    resize.observe(host);

    // Also runs on unmount: the chart, its observer and its place in the group all go.
    return () => {
      resize.disconnect();
      group.charts.delete(plot);
      if (plotRef.current === plot) plotRef.current = null;
      layerRef.current?.remove();
      plot.destroy();
    };
  }, [x, series, dark, height, minTop, format, group, unit]);

  // The exemplar buttons, on the chart as it is: its zoom and the other charts are untouched.
  useEffect(() => {
    const dots: Dot[] = [];
    if (exemplars && exemplars.length > 0) {
      let layer = layerRef.current;
      if (!layer) {
        layer = document.createElement('div');
        layer.className = 'exemplar-layer';
        layerRef.current = layer;
      }
      for (const exemplar of exemplars) {
        const element = document.createElement('button');
        element.type = 'button';
        element.className = exemplar.isError ? 'exemplar-dot exemplar-error' : 'exemplar-dot';
        element.dataset.testid = 'exemplar-dot';
        element.dataset.traceId = exemplar.traceId;
        element.dataset.spanId = exemplar.spanId;
        const when = new Date(exemplar.x * 1000).toLocaleTimeString();
        const summary = `${exemplar.operation}: ${formatMillis(exemplar.y)}${exemplar.isError ? ', failed' : ''} at ${when} (${describeExemplarReason(exemplar.reason)}). Open trace ${exemplar.traceId}`;
        element.title = summary;
        element.setAttribute('aria-label', summary);
        // Keep uPlot from starting a drag-to-zoom under the dot.
        element.addEventListener('mousedown', (event) => event.stopPropagation());
        element.addEventListener('click', (event) => {
          event.stopPropagation();
          onExemplarRef.current?.(exemplar);
        });
        dots.push({ element, exemplar });
      }
      layer.replaceChildren(...dots.map((dot) => dot.element));
    } else {
      layerRef.current?.replaceChildren();
    }
    dotsRef.current = dots;

    const plot = plotRef.current;
    if (!plot) return undefined;
    if (layerRef.current && layerRef.current.parentElement !== plot.over) plot.over.appendChild(layerRef.current);
    placeDots(plot, dots);
    // Re-setting x to where it is makes uPlot re-range y (now up to the slowest exemplar)
    // without moving x: the zoom, and so the other charts, stay as they are.
    const { min, max } = plot.scales.x ?? {};
    if (min !== undefined && max !== undefined && min !== null && max !== null) plot.setScale('x', { min, max });
    return undefined;
  }, [exemplars]);

  return (
    <figure ref={figureRef} class="metric-chart" data-testid="metric-chart" data-chart={chart} data-points={points} aria-label={title}>
      <figcaption class="metric-chart-title">
        <span>{title}</span>
        {description && <span class="muted metric-chart-description">{description}</span>}
      </figcaption>
      <div class="metric-chart-plot" ref={hostRef} />
    </figure>
  );
}
