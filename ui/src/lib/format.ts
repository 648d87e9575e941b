/** Display helpers shared by every view, so a duration or a service looks the same everywhere. */
import type { OtlpAnyValue } from './trace-model';

const NANOS_PER_SECOND = 1e9;
const SECONDS_PER_MINUTE = 60;
const SECONDS_PER_HOUR = 3600;
const MINUTES_PER_DAY = 1440;

const SUB_SECOND_UNITS = [
  { suffix: 'ns', nanos: 1 },
  { suffix: '\u00b5s', nanos: 1e3 },
  { suffix: 'ms', nanos: 1e6 },
  { suffix: 's', nanos: 1e9 },
] as const;

/** Three significant digits, trailing zeros dropped: 2.50 → "2.5", 812 → "812". */
function threeSignificantDigits(value: number): number {
  return Number(value.toPrecision(3));
}

/**
 * "812 ns", "812 µs", "1.23 ms", "2.5 s", then clock-style "1m 3s", "2h 5m", "3d 4h" where
 * decimals stop helping. Three significant digits keep columns readable; rounding carries into
 * the next unit (999.6 µs is "1 ms", not "1000 µs"). Negative values (deltas) get a "-".
 */
export function formatDuration(nanos: number): string {
  if (!Number.isFinite(nanos)) return '\u2014';
  if (nanos < 0) return `-${formatDuration(-nanos)}`;

  for (let index = 0; index < SUB_SECOND_UNITS.length; index += 1) {
    const unit = SUB_SECOND_UNITS[index]!;
    const nextUnit = SUB_SECOND_UNITS[index + 1];
    if (nextUnit !== undefined && nanos >= nextUnit.nanos) continue;
    const rounded = threeSignificantDigits(nanos / unit.nanos);
    if (nextUnit !== undefined && rounded >= 1000) continue;
    if (nextUnit === undefined && rounded >= SECONDS_PER_MINUTE) break;
    return `${rounded} ${unit.suffix}`;
  }

  const totalSeconds = Math.round(nanos / NANOS_PER_SECOND);
  if (totalSeconds < SECONDS_PER_HOUR) {
    return joinClockParts(Math.floor(totalSeconds / SECONDS_PER_MINUTE), 'm', totalSeconds % SECONDS_PER_MINUTE, 's');
  }
  const totalMinutes = Math.round(nanos / (NANOS_PER_SECOND * SECONDS_PER_MINUTE));
  if (totalMinutes < MINUTES_PER_DAY) {
    return joinClockParts(Math.floor(totalMinutes / 60), 'h', totalMinutes % 60, 'm');
  }
  const totalHours = Math.round(nanos / (NANOS_PER_SECOND * SECONDS_PER_HOUR));
  return joinClockParts(Math.floor(totalHours / 24), 'd', totalHours % 24, 'h');
}

function joinClockParts(major: number, majorSuffix: string, minor: number, minorSuffix: string): string {
  return minor === 0 ? `${major}${majorSuffix}` : `${major}${majorSuffix} ${minor}${minorSuffix}`;
}

export interface ServicePaletteColour {
  readonly hex: string;
  /** OKLCH hue the colour was generated from; for legends and tests, not for rendering. */
  readonly oklchHue: number;
}

/**
 * Twelve hues 30° apart in OKLCH, lightness alternating 0.565 / 0.65 so neighbouring entries
 * also differ in brightness. Every entry has at least 3:1 contrast (WCAG, non-text) against
 * both a white and a near-black (#1b1b1f) background, so bars stay visible in either theme
 * without per-theme palettes.
 */
export const SERVICE_PALETTE: readonly ServicePaletteColour[] = [
  { hex: '#be4b47', oklchHue: 25 },
  { hex: '#d3721e', oklchHue: 55 },
  { hex: '#946f07', oklchHue: 85 },
  { hex: '#8d9906', oklchHue: 115 },
  { hex: '#2d8c38', oklchHue: 145 },
  { hex: '#04a78b', oklchHue: 175 },
  { hex: '#038691', oklchHue: 205 },
  { hex: '#0b9bd6', oklchHue: 235 },
  { hex: '#4a70cd', oklchHue: 265 },
  { hex: '#977ae0', oklchHue: 295 },
  { hex: '#a152a6', oklchHue: 325 },
  { hex: '#d36394', oklchHue: 355 },
];

/** 32-bit FNV-1a: tiny and well spread, and stable across sessions and browsers. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The same service keeps its colour in every trace, view and session. */
export function servicePaletteIndex(serviceName: string): number {
  return fnv1a32(serviceName) % SERVICE_PALETTE.length;
}

export function serviceColour(serviceName: string): string {
  return SERVICE_PALETTE[servicePaletteIndex(serviceName)]!.hex;
}

// ---- times -------------------------------------------------------------------------------------

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/** Unix nanoseconds (a decimal string, as the API sends them, or a BigInt) in whole milliseconds; NaN when unreadable. */
export function unixNanoToMillis(unixNano: bigint | string): number {
  try {
    return Number(BigInt(unixNano) / 1_000_000n);
  } catch {
    return Number.NaN;
  }
}

/** Local `HH:MM:SS`, or `HH:MM:SS.mmm` with `milliseconds`. */
export function formatLocalTime(millis: number, { milliseconds = false }: { milliseconds?: boolean } = {}): string {
  const date = new Date(millis);
  const time = `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}:${twoDigits(date.getSeconds())}`;
  return milliseconds ? `${time}.${String(date.getMilliseconds()).padStart(3, '0')}` : time;
}

/** Local `YYYY-MM-DD HH:MM:SS`, or `YYYY-MM-DD HH:MM:SS.mmm` with `milliseconds`. */
export function formatLocalDateTime(millis: number, options: { milliseconds?: boolean } = {}): string {
  const date = new Date(millis);
  return `${date.getFullYear()}-${twoDigits(date.getMonth() + 1)}-${twoDigits(date.getDate())} ${formatLocalTime(millis, options)}`;
}

/**
 * A moment for a table column, to the millisecond in local time: `14:05:30.250` on the day of
 * `nowMillis`, `2024-05-01 14:05:30.250` on any other day.
 */
export function formatLocalTimestamp(millis: number, nowMillis: number): string {
  const date = new Date(millis);
  const now = new Date(nowMillis);
  const sameDay = date.getFullYear() === now.getFullYear() && date.getMonth() === now.getMonth() && date.getDate() === now.getDate();
  return sameDay ? formatLocalTime(millis, { milliseconds: true }) : formatLocalDateTime(millis, { milliseconds: true });
}

/**
 * How long ago, in the largest whole unit that has fully elapsed (always rounded down, so
 * "1 min ago" means at least a minute): "just now" (under 5 s, and a few seconds of clock skew
 * ahead), "42 s ago", "3 min ago", "5 h ago", "2 d ago"; "in the future" beyond that skew.
 */
export function formatRelativeTime(thenMillis: number, nowMillis: number): string {
  const elapsed = nowMillis - thenMillis;
  if (!Number.isFinite(elapsed)) return '\u2014';
  if (elapsed < -5_000) return 'in the future';
  const seconds = Math.floor(elapsed / 1000);
  if (seconds < 5) return 'just now';
  if (seconds < SECONDS_PER_MINUTE) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / SECONDS_PER_MINUTE);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

// ---- attribute values ----------------------------------------------------------------------

/** An attribute value as text: strings bare, arrays and maps JSON-like. */
export function formatAnyValue(value: OtlpAnyValue | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  if (value.bytesValue !== undefined) return `base64:${value.bytesValue}`;
  if (value.arrayValue !== undefined) {
    return `[${(value.arrayValue.values ?? []).map((item) => JSON.stringify(formatAnyValue(item))).join(', ')}]`;
  }
  if (value.kvlistValue !== undefined) {
    return `{${(value.kvlistValue.values ?? [])
      .map((entry) => `${JSON.stringify(entry.key)}: ${JSON.stringify(formatAnyValue(entry.value))}`)
      .join(', ')}}`;
  }
  return '';
}
