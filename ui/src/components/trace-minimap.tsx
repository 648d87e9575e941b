// The whole trace in a strip: one line per span (in waterfall order, squeezed to the strip's
// height) and the zoom window as a frame. Drag outside the frame to zoom to a range, drag the
// frame to pan. Drawn on a canvas so 100k spans cost one paint, not 100k DOM nodes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { formatDuration } from '../lib/format';
import { type TimeWindow, clampWindow } from '../lib/trace-view';
import type { TraceSpan } from '../lib/trace-model';
import type { SpanTreeNode } from '../lib/tree';
import { serviceColour } from '../lib/format';

const MINIMAP_HEIGHT = 56;

interface Props {
  rows: readonly SpanTreeNode<TraceSpan>[];
  traceNanos: number;
  window: TimeWindow;
  onWindowChange: (window: TimeWindow) => void;
  dark: boolean;
}

type Drag = { kind: 'select'; fromFraction: number; toFraction: number } | { kind: 'pan'; fromFraction: number; startWindow: TimeWindow };

export function TraceMinimap({ rows, traceNanos, window, onWindowChange, dark }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const stripRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [drag, setDrag] = useState<Drag | null>(null);
  /** Removes the document listeners of a drag in progress; also run on unmount. */
  const endDrag = useRef<(() => void) | null>(null);
  useEffect(() => () => endDrag.current?.(), []);

  useEffect(() => {
    const strip = stripRef.current;
    if (!strip) return;
    const observer = new ResizeObserver(() => setWidth(strip.clientWidth));
    observer.observe(strip);
    setWidth(strip.clientWidth);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || width === 0) return;
    const ratio = globalThis.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(MINIMAP_HEIGHT * ratio);
    const context = canvas.getContext('2d');
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, MINIMAP_HEIGHT);
    if (rows.length === 0 || traceNanos <= 0) return;
    const lineHeight = Math.max(MINIMAP_HEIGHT / rows.length, 0.5);
    const step = MINIMAP_HEIGHT / rows.length;
    // One fill style per service instead of one per span: canvas state changes dominate.
    const byColour = new Map<string, number[]>();
    rows.forEach((node, index) => {
      const colour = node.span.statusCode === 'error' ? 'error' : serviceColour(node.span.serviceName);
      const list = byColour.get(colour);
      if (list) list.push(index);
      else byColour.set(colour, [index]);
    });
    const errorColour = getComputedStyle(document.documentElement).getPropertyValue('--error').trim() || '#c62f2f';
    for (const [colour, indexes] of byColour) {
      context.fillStyle = colour === 'error' ? errorColour : colour;
      for (const index of indexes) {
        const span = rows[index]!.span;
        const x = (span.startOffsetNanos / traceNanos) * width;
        const barWidth = Math.max((span.durationNanos / traceNanos) * width, 1);
        context.fillRect(x, index * step, barWidth, lineHeight);
      }
    }
  }, [rows, traceNanos, width, dark]);

  const fractionAt = (event: MouseEvent) => {
    const strip = stripRef.current;
    if (!strip) return 0;
    const rect = strip.getBoundingClientRect();
    return Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1);
  };
  const windowStart = traceNanos > 0 ? window.startNanos / traceNanos : 0;
  const windowEnd = traceNanos > 0 ? window.endNanos / traceNanos : 1;
  const zoomed = windowStart > 0 || windowEnd < 1;

  const onMouseDown = (event: MouseEvent) => {
    if (event.button !== 0) return;
    event.preventDefault();
    const fraction = fractionAt(event);
    const inside = zoomed && fraction >= windowStart && fraction <= windowEnd;
    const started: Drag = inside
      ? { kind: 'pan', fromFraction: fraction, startWindow: window }
      : { kind: 'select', fromFraction: fraction, toFraction: fraction };
    setDrag(started);
    let current = started;
    const onMove = (move: MouseEvent) => {
      const at = fractionAt(move);
      if (current.kind === 'select') {
        current = { ...current, toFraction: at };
        setDrag(current);
      } else {
        const shift = (at - current.fromFraction) * traceNanos;
        onWindowChange(
          clampWindow({ startNanos: current.startWindow.startNanos + shift, endNanos: current.startWindow.endNanos + shift }, traceNanos),
        );
      }
    };
    const removeListeners = () => {
      document.removeEventListener('mousemove', onMove);
      document.removeEventListener('mouseup', onUp);
      endDrag.current = null;
    };
    const onUp = () => {
      removeListeners();
      if (current.kind === 'select' && Math.abs(current.toFraction - current.fromFraction) > 0.002) {
        onWindowChange(clampWindow({ startNanos: current.fromFraction * traceNanos, endNanos: current.toFraction * traceNanos }, traceNanos));
      }
      setDrag(null);
    };
    document.addEventListener('mousemove', onMove);
    document.addEventListener('mouseup', onUp);
    endDrag.current = removeListeners;
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const width = window.endNanos - window.startNanos;
    const panTo = (startNanos: number) => onWindowChange(clampWindow({ startNanos, endNanos: startNanos + width }, traceNanos));
    if (event.key === 'ArrowLeft') panTo(window.startNanos - width * 0.1);
    else if (event.key === 'ArrowRight') panTo(window.startNanos + width * 0.1);
    else if (event.key === 'Home') panTo(0);
    else if (event.key === 'End') panTo(traceNanos - width);
    else return;
    event.preventDefault();
  };

  return (
    <div class="minimap" data-testid="trace-minimap">
      <div
        class="minimap-strip"
        ref={stripRef}
        onMouseDown={onMouseDown}
        onKeyDown={onKeyDown}
        tabIndex={0}
        title="Drag to zoom to a time range; drag the frame to pan. Keys: ←/→ pan, Home/End jump"
        aria-label={`Trace overview: showing ${formatDuration(window.startNanos)} to ${formatDuration(window.endNanos)} of ${formatDuration(traceNanos)}. Arrow keys pan, plus and minus zoom.`}
        aria-keyshortcuts="ArrowLeft ArrowRight Home End + -"
        role="group"
        data-testid="trace-minimap-strip"
      >
        <canvas ref={canvasRef} style={{ width: `${width}px`, height: `${MINIMAP_HEIGHT}px` }} />
        {zoomed && (
          <>
            <div class="minimap-shade" style={{ left: 0, width: `${windowStart * 100}%` }} />
            <div class="minimap-shade" style={{ left: `${windowEnd * 100}%`, right: 0 }} />
            <div class="minimap-window" style={{ left: `${windowStart * 100}%`, width: `${(windowEnd - windowStart) * 100}%` }} />
          </>
        )}
        {drag?.kind === 'select' && (
          <div
            class="minimap-selection"
            style={{
              left: `${Math.min(drag.fromFraction, drag.toFraction) * 100}%`,
              width: `${Math.abs(drag.toFraction - drag.fromFraction) * 100}%`,
            }}
          />
        )}
      </div>
    </div>
  );
}
