// The service map as an interactive graph on cytoscape with the dagre layout: callers left,
// callees right; nodes sized by traffic in their service's colour (uninstrumented peers grey,
// dashed, square); edges coloured by error rate and sized by calls. Colours come from the theme
// variables and are re-applied when the OS theme flips. Each node also has an invisible,
// focusable twin over it so the graph works from the keyboard (and can be found by tests).
import type cytoscape from 'cytoscape';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import './graph-service-map.css';
import { usePrefersDark } from '../hooks';
import { serviceColour } from '../lib/format';
import {
  ERROR_ERROR_RATE,
  errorLevel,
  errorLevelVariable,
  formatCount,
  formatMillis,
  formatPercent,
  formatRate,
  WARNING_ERROR_RATE,
  type MapEdge,
  type MapNode,
} from '../lib/metrics-view';
import { ErrorRate } from './metric-table';

type Cytoscape = typeof cytoscape;

let loading: Promise<Cytoscape> | null = null;
/** cytoscape and dagre are large and only this view needs them: load them on first use. */
function loadCytoscape(): Promise<Cytoscape> {
  loading ??= Promise.all([import('cytoscape'), import('cytoscape-dagre')]).then(([core, dagre]) => {
    core.default.use(dagre.default);
    return core.default;
  });
  return loading;
}

export interface ServiceGraphProps {
  nodes: MapNode[];
  edges: MapEdge[];
  /** A service to ring (the map's focus). */
  focus?: string;
  /** An element id (node or edge) to highlight, e.g. while its table row is hovered. */
  highlight?: string | null;
  onOpenService: (service: string) => void;
}

/**
 * What the tooltip shows and where: to the right of `right` or, near the right edge, to the left
 * of `left` (rendered pixels in the graph container), with its top at `top`.
 */
interface Hover {
  kind: 'node' | 'edge';
  id: string;
  left: number;
  right: number;
  top: number;
  pinned: boolean;
}

function nodeHover(node: cytoscape.NodeSingular, pinned: boolean): Hover {
  const position = node.renderedPosition();
  const halfWidth = node.renderedOuterWidth() / 2;
  return { kind: 'node', id: node.id(), left: position.x - halfWidth - 10, right: position.x + halfWidth + 10, top: position.y - node.renderedOuterHeight() / 2, pinned };
}

function edgeHover(id: string, position: cytoscape.Position, pinned: boolean): Hover {
  return { kind: 'edge', id, left: position.x - 14, right: position.x + 14, top: position.y + 10, pinned };
}

function cssVariable(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

function buildStyle(): cytoscape.StylesheetJson {
  const style = getComputedStyle(document.documentElement);
  const text = cssVariable(style, '--text', '#1b1d22');
  const muted = cssVariable(style, '--text-muted', '#5d6470');
  const bg = cssVariable(style, '--bg', '#ffffff');
  const peerFill = cssVariable(style, '--bg-hover', '#e8ecf2');
  const accent = cssVariable(style, '--accent', '#2f62d0');
  const focus = cssVariable(style, '--focus', accent);
  const font = cssVariable(style, '--font', 'sans-serif');
  const level = (name: '--ok' | '--warning' | '--error') => cssVariable(style, name, '#888888');
  return [
    {
      selector: 'node',
      style: {
        shape: 'ellipse',
        width: 'data(size)',
        height: 'data(size)',
        'background-color': 'data(colour)',
        'border-width': 2,
        'border-color': bg,
        label: 'data(label)',
        'text-wrap': 'wrap',
        'text-valign': 'bottom',
        'text-halign': 'center',
        'text-margin-y': 6,
        'font-family': font,
        'font-size': 13,
        'line-height': 1.25,
        color: text,
        'text-background-color': bg,
        'text-background-opacity': 0.85,
        'text-background-padding': '2px',
        'text-background-shape': 'roundrectangle',
        'overlay-opacity': 0,
      },
    },
    { selector: 'node[level = "warning"]', style: { 'border-color': level('--warning'), 'border-width': 3 } },
    { selector: 'node[level = "error"]', style: { 'border-color': level('--error'), 'border-width': 4 } },
    {
      selector: 'node[?uninstrumented]',
      style: {
        shape: 'round-rectangle',
        'background-color': peerFill,
        'border-color': muted,
        'border-width': 1.5,
        'border-style': 'dashed',
        color: muted,
      },
    },
    {
      selector: 'edge',
      style: {
        'curve-style': 'bezier',
        width: 'data(width)',
        'line-color': level('--ok'),
        'target-arrow-color': level('--ok'),
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.9,
        'line-opacity': 0.8,
        label: 'data(label)',
        'font-family': font,
        'font-size': 11,
        color: muted,
        'text-background-color': bg,
        'text-background-opacity': 0.9,
        'text-background-padding': '2px',
        'text-background-shape': 'roundrectangle',
        'overlay-opacity': 0,
      },
    },
    { selector: 'edge[level = "warning"]', style: { 'line-color': level('--warning'), 'target-arrow-color': level('--warning'), color: level('--warning') } },
    { selector: 'edge[level = "error"]', style: { 'line-color': level('--error'), 'target-arrow-color': level('--error'), color: level('--error') } },
    { selector: 'node.focus', style: { 'border-color': accent, 'border-width': 4 } },
    { selector: 'node.highlighted, node:selected', style: { 'border-color': focus, 'border-width': 4, 'border-style': 'solid' } },
    { selector: 'edge.highlighted, edge:selected', style: { 'line-opacity': 1, width: 'mapData(width, 0, 7, 3, 9)', 'z-index': 10, 'font-weight': 'bold' } },
    { selector: '.faded', style: { opacity: 0.25 } },
  ];
}

export function ServiceGraph({ nodes, edges, focus, highlight, onOpenService }: ServiceGraphProps) {
  const dark = usePrefersDark();
  const hostRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLDivElement>(null);
  const overlayRef = useRef<HTMLDivElement>(null);
  const cyRef = useRef<cytoscape.Core | null>(null);
  const openRef = useRef(onOpenService);
  openRef.current = onOpenService;
  const [hover, setHover] = useState<Hover | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const nodeById = useMemo(() => new Map(nodes.map((node) => [node.id, node])), [nodes]);
  const edgeById = useMemo(() => new Map(edges.map((edge) => [edge.id, edge])), [edges]);

  // Build the graph whenever its elements change.
  useEffect(() => {
    const host = hostRef.current;
    const container = canvasRef.current;
    const overlay = overlayRef.current;
    if (!host || !container || !overlay) return undefined;
    delete host.dataset.nodeCount;
    delete host.dataset.edgeCount;
    setHover(null);

    /** Draws the graph once cytoscape has loaded; answers its teardown. */
    function mount(cytoscape: Cytoscape, host: HTMLDivElement, container: HTMLDivElement, overlay: HTMLDivElement): () => void {
      const cy = cytoscape({
        container,
        elements: [
          ...nodes.map((node) => ({
            group: 'nodes' as const,
            data: {
              id: node.id,
              label: node.label,
              size: node.size,
              colour: serviceColour(node.service),
              uninstrumented: node.uninstrumented,
              level: node.uninstrumented ? 'ok' : errorLevel(node.stats.errorRate),
            },
            classes: node.service === focus ? 'focus' : '',
          })),
          ...edges.map((edge) => ({
            group: 'edges' as const,
            data: { id: edge.id, source: edge.caller, target: edge.callee, width: edge.width, level: edge.level, label: edge.label },
          })),
        ],
        style: buildStyle(),
        minZoom: 0.15,
        maxZoom: 2.5,
        boxSelectionEnabled: false,
        autoungrabify: false,
      });
      cyRef.current = cy;

      const placeHits = () => {
        for (const element of Array.from(overlay.children) as HTMLElement[]) {
          const id = element.dataset.service;
          if (!id) continue;
          const node = cy.getElementById(id);
          if (node.empty()) continue;
          const box = node.renderedBoundingBox({ includeLabels: false, includeOverlays: false });
          element.style.transform = `translate(${box.x1.toFixed(1)}px, ${box.y1.toFixed(1)}px)`;
          element.style.width = `${box.w.toFixed(1)}px`;
          element.style.height = `${box.h.toFixed(1)}px`;
        }
      };
      let frame = 0;
      const schedulePlaceHits = () => {
        if (frame) return;
        frame = requestAnimationFrame(() => {
          frame = 0;
          placeHits();
        });
      };

      const layout = cy.layout({
        name: 'dagre',
        rankDir: 'LR',
        nodeSep: 18,
        rankSep: 150,
        edgeSep: 16,
        ranker: 'network-simplex',
        nodeDimensionsIncludeLabels: true,
        fit: true,
        padding: 28,
        animate: false,
      } as cytoscape.LayoutOptions);
      layout.one('layoutstop', () => {
        if (cy.zoom() > 1.4) {
          cy.zoom(1.4);
          cy.center();
        }
        placeHits();
        host.dataset.nodeCount = String(cy.nodes().length);
        host.dataset.edgeCount = String(cy.edges().length);
      });
      layout.run();

      cy.on('render viewport position', schedulePlaceHits);
      cy.on('mouseover', 'node', (event) => {
        const node = event.target as cytoscape.NodeSingular;
        container.style.cursor = node.data('uninstrumented') ? 'default' : 'pointer';
        setHover((current) => (current?.pinned ? current : nodeHover(node, false)));
      });
      cy.on('mouseover', 'edge', (event) => {
        const edge = event.target as cytoscape.EdgeSingular;
        const position = event.renderedPosition ?? edge.renderedMidpoint();
        setHover((current) => (current?.pinned ? current : edgeHover(edge.id(), position, false)));
      });
      cy.on('mouseout', 'node, edge', () => {
        container.style.cursor = '';
        setHover((current) => (current?.pinned ? current : null));
      });
      cy.on('tap', 'node', (event) => {
        const node = event.target as cytoscape.NodeSingular;
        if (!node.data('uninstrumented')) {
          openRef.current(node.id());
          return;
        }
        setHover(nodeHover(node, true));
      });
      cy.on('tap', 'edge', (event) => {
        const edge = event.target as cytoscape.EdgeSingular;
        const position = event.renderedPosition ?? edge.renderedMidpoint();
        setHover(edgeHover(edge.id(), position, true));
      });
      cy.on('tap', (event) => {
        if (event.target === cy) setHover(null);
      });
      cy.on('pan zoom', () => setHover((current) => (current ? null : current)));

      const resize = new ResizeObserver(() => {
        cy.resize();
        schedulePlaceHits();
      });
      resize.observe(container);

      return () => {
        resize.disconnect();
        if (frame) cancelAnimationFrame(frame);
        cy.destroy();
        cyRef.current = null;
      };
    }

    let cancelled = false;
    let unmount: (() => void) | null = null;
    loadCytoscape().then(
      (cytoscape) => {
        if (!cancelled) unmount = mount(cytoscape, host, container, overlay);
      },
      (error: unknown) => {
        if (!cancelled) setLoadError(String(error));
      },
    );
    return () => {
      cancelled = true;
      unmount?.();
    };
  }, [nodes, edges, focus]);

  // Follow the theme without re-laying out.
  useEffect(() => {
    cyRef.current?.style(buildStyle());
  }, [dark]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.elements().removeClass('highlighted');
    if (highlight) {
      const element = cy.getElementById(highlight);
      element.addClass('highlighted');
      if (element.isEdge()) element.connectedNodes().addClass('highlighted');
    }
  }, [highlight, nodes, edges]);

  const fit = () => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.fit(undefined, 28);
    if (cy.zoom() > 1.4) {
      cy.zoom(1.4);
      cy.center();
    }
  };
  const zoomBy = (factor: number) => {
    const cy = cyRef.current;
    if (!cy) return;
    const { width, height } = { width: cy.width(), height: cy.height() };
    cy.zoom({ level: Math.min(cy.maxZoom(), Math.max(cy.minZoom(), cy.zoom() * factor)), renderedPosition: { x: width / 2, y: height / 2 } });
  };

  const hoveredNode = hover?.kind === 'node' ? nodeById.get(hover.id) : undefined;
  const hoveredEdge = hover?.kind === 'edge' ? edgeById.get(hover.id) : undefined;

  return (
    <div class="service-graph" ref={hostRef} data-testid="service-map" role="group" aria-label="Service map graph">
      <div class="service-graph-canvas" ref={canvasRef} />
      {loadError && <div class="service-graph-error">The graph could not be drawn: {loadError}. The tables below list the same services and calls.</div>}
      <div class="service-graph-hits" ref={overlayRef}>
        {nodes.map((node) => (
          <div
            key={node.id}
            class="service-graph-hit"
            data-testid="map-node"
            data-service={node.id}
            data-uninstrumented={node.uninstrumented ? 'true' : 'false'}
            tabIndex={0}
            role={node.uninstrumented ? 'img' : 'link'}
            aria-label={`${node.service}${node.uninstrumented ? ' (uninstrumented)' : ''}: ${formatRate(node.stats.callsPerSecond)}, p99 ${formatMillis(node.stats.p99Millis)}${node.uninstrumented ? '' : '. Open dashboard'}`}
            onFocus={() => {
              const cy = cyRef.current;
              const target = cy?.getElementById(node.id);
              if (cy && target && !target.empty() && target.isNode()) setHover(nodeHover(target, true));
            }}
            onBlur={() => setHover(null)}
            onKeyDown={(event) => {
              if ((event.key === 'Enter' || event.key === ' ') && !node.uninstrumented) {
                event.preventDefault();
                openRef.current(node.id);
              }
            }}
          />
        ))}
      </div>
      <div class="service-graph-controls">
        <button type="button" class="secondary" onClick={() => zoomBy(1.25)} aria-label="Zoom in" title="Zoom in">
          +
        </button>
        <button type="button" class="secondary" onClick={() => zoomBy(0.8)} aria-label="Zoom out" title="Zoom out">
          {'\u2212'}
        </button>
        <button type="button" class="secondary" onClick={fit} data-testid="map-fit" title="Fit the whole map in view">
          Fit
        </button>
      </div>
      {hover && (hoveredNode || hoveredEdge) && (
        <div
          class="service-graph-tooltip"
          style={
            hover.right + 360 > (hostRef.current?.clientWidth ?? Infinity)
              ? { left: `${hover.left}px`, top: `${Math.max(8, hover.top)}px`, transform: 'translateX(-100%)' }
              : { left: `${hover.right}px`, top: `${Math.max(8, hover.top)}px` }
          }
          role="tooltip"
          data-testid="map-tooltip"
        >
          {hoveredNode && <NodeDetails node={hoveredNode} />}
          {hoveredEdge && <EdgeDetails edge={hoveredEdge} />}
        </div>
      )}
      <div class="service-graph-legend" aria-hidden="true">
        <span class="legend-item">
          <span class="legend-line legend-ok" /> &lt;{formatPercent(WARNING_ERROR_RATE)} errors
        </span>
        <span class="legend-item">
          <span class="legend-line legend-warning" /> ≥{formatPercent(WARNING_ERROR_RATE)}
        </span>
        <span class="legend-item">
          <span class="legend-line legend-error" /> ≥{formatPercent(ERROR_ERROR_RATE)}
        </span>
        <span class="legend-item">
          <span class="legend-node" /> service
        </span>
        <span class="legend-item">
          <span class="legend-peer" /> uninstrumented peer
        </span>
        <span class="legend-item muted">size = calls/s</span>
      </div>
    </div>
  );
}

function StatsGrid({ stats }: { stats: MapNode['stats'] }) {
  return (
    <dl class="tooltip-stats">
      <dt>Calls</dt>
      <dd>
        {formatCount(stats.calls)} <span class="muted">({formatRate(stats.callsPerSecond)})</span>
      </dd>
      <dt>Errors</dt>
      <dd>
        {formatCount(stats.errors)} <ErrorRate rate={stats.errorRate} />
      </dd>
      <dt>p50 / p90 / p99</dt>
      <dd>
        {formatMillis(stats.p50Millis)} / {formatMillis(stats.p90Millis)} / {formatMillis(stats.p99Millis)}
      </dd>
    </dl>
  );
}

function NodeDetails({ node }: { node: MapNode }) {
  return (
    <>
      <div class="tooltip-title">
        <span class="tooltip-swatch" style={{ background: node.uninstrumented ? 'var(--text-muted)' : serviceColour(node.service) }} />
        {node.service}
      </div>
      <div class="muted tooltip-subtitle">{node.uninstrumented ? 'Uninstrumented peer, seen from its callers' : 'Calls it served (server and consumer spans)'}</div>
      <StatsGrid stats={node.stats} />
      {!node.uninstrumented && <div class="tooltip-hint muted">Click to open the dashboard</div>}
    </>
  );
}

function EdgeDetails({ edge }: { edge: MapEdge }) {
  return (
    <>
      <div class="tooltip-title">
        {edge.caller} <span class="muted">→</span> {edge.callee}
      </div>
      <div class={`tooltip-subtitle level-${edge.level}`} style={{ color: `var(${errorLevelVariable(edge.level)})` }}>
        {edge.level === 'ok' ? 'Healthy' : edge.level === 'warning' ? 'Elevated error rate' : 'High error rate'}
      </div>
      <StatsGrid stats={edge.stats} />
    </>
  );
}
