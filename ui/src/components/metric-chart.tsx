// A time-series chart on uPlot for the service dashboard: theme colours from the CSS variables
// (re-created when the OS theme flips), sized to its container, drag-to-zoom on x with a
// double-click to reset, and zoom and crosshair shared by every chart of a ChartGroup. The
// latency chart also carries exemplars: real, focusable buttons laid over the plot that open
// the trace behind each dot.
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

/** One line of a chart; `colour` names a theme variable such as `--accent`. */
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
}

let groupCounter = 0;

export function useChartGroup(): ChartGroup {
  return useMemo(() => {
    groupCounter += 1;
    return { key: `weft-charts-${groupCounter}`, charts: new Set<uPlot>(), syncing: false };
  }, []);
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
  return style.getPropertyValue(variable).trim() || '#888888';
}

export function MetricChart(props: MetricChartProps) {
  const { chart, title, unit, x, series, format, group, height = 220, minTop = 1, exemplars, onExemplar, description } = props;
  const dark = usePrefersDark();
  const hostRef = useRef<HTMLDivElement>(null);
  const figureRef = useRef<HTMLElement>(null);
  const onExemplarRef = useRef(onExemplar);
  onExemplarRef.current = onExemplar;
  const points = useMemo(() => countDefinedPoints(series.map((entry) => entry.values)), [series]);

  useEffect(() => {
    const host = hostRef.current;
    const figure = figureRef.current;
    if (!host || !figure) return undefined;
    const style = getComputedStyle(document.documentElement);
    const text = themeColour(style, '--text-muted');
    const grid = withAlpha(themeColour(style, '--border'), dark ? 0.7 : 0.8);
    const font = `11px ${style.getPropertyValue('--font').trim() || 'sans-serif'}`;
    const exemplarMax = exemplars?.reduce((max, entry) => Math.max(max, entry.y), 0) ?? 0;

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
        x: { time: true },
        y: {
          range: (_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => {
            const top = Math.max(minTop, max ?? 0, exemplarMax);
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
            group.syncing = true;
            try {
              for (const other of group.charts) {
                if (other !== u) other.setScale('x', { min, max });
              }
            } finally {
              group.syncing = false;
            }
          },
        ],
      },
    };

    // Exemplar dots: buttons in the plot's overlay, placed on every redraw (zoom, resize).
    let layer: HTMLDivElement | null = null;
    const dots: { element: HTMLButtonElement; exemplar: ExemplarPoint }[] = [];
    if (exemplars && exemplars.length > 0) {
      const place = (u: uPlot) => {
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
      };
      options.hooks!.draw = [place];
    }

    const data: uPlot.AlignedData = [x, ...series.map((entry) => entry.values)];
    const plot = new uPlot(options, data, host);
    group.charts.add(plot);

    if (exemplars && exemplars.length > 0) {
      layer = document.createElement('div');
      layer.className = 'exemplar-layer';
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
        layer.appendChild(element);
        dots.push({ element, exemplar });
      }
      plot.over.appendChild(layer);
      // The first draw ran before the dots existed.
      plot.redraw(false, false);
    }

    const resize = new ResizeObserver(() => {
      const width = Math.max(200, host.clientWidth);
      if (Math.abs(width - plot.width) >= 1) plot.setSize({ width, height });
    });
    resize.observe(host);

    return () => {
      resize.disconnect();
      group.charts.delete(plot);
      plot.destroy();
    };
  }, [x, series, exemplars, dark, height, minTop, format, group, unit]);

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
