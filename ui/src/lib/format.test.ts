import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatLocalDateTime,
  formatLocalTime,
  formatLocalTimestamp,
  formatRelativeTime,
  SERVICE_PALETTE,
  serviceColour,
  servicePaletteIndex,
  unixNanoToMillis,
} from './format';

describe('formatDuration', () => {
  it.each([
    [0, '0 ns'],
    [1, '1 ns'],
    [812, '812 ns'],
    [999, '999 ns'],
    [1_000, '1 \u00b5s'],
    [1_500, '1.5 \u00b5s'],
    [812_000, '812 \u00b5s'],
    [812_345, '812 \u00b5s'],
    [1_234_567, '1.23 ms'],
    [10_000_000, '10 ms'],
    [250_000_000, '250 ms'],
    [2_500_000_000, '2.5 s'],
    [59_940_000_000, '59.9 s'],
    [60_000_000_000, '1m'],
    [63_000_000_000, '1m 3s'],
    [63_400_000_000, '1m 3s'],
    [3_599_000_000_000, '59m 59s'],
    [3_600_000_000_000, '1h'],
    [3_900_000_000_000, '1h 5m'],
    [90_000_000_000_000, '1d 1h'],
    [172_800_000_000_000, '2d'],
  ])('formats %d ns as %s', (nanos, expected) => {
    expect(formatDuration(nanos)).toBe(expected);
  });

  it('carries rounding into the next unit instead of showing 1000 of a unit', () => {
    expect(formatDuration(999.6)).toBe('1 \u00b5s');
    expect(formatDuration(999_600)).toBe('1 ms');
    expect(formatDuration(999_600_000)).toBe('1 s');
    expect(formatDuration(59_960_000_000)).toBe('1m');
    expect(formatDuration(3_599_600_000_000)).toBe('1h');
    expect(formatDuration(86_399_000_000_000)).toBe('1d');
  });

  it('shows fractions of a nanosecond (averages), negative deltas, and a dash for non-numbers', () => {
    expect(formatDuration(0.5)).toBe('0.5 ns');
    expect(formatDuration(-1_234_567)).toBe('-1.23 ms');
    expect(formatDuration(-63_000_000_000)).toBe('-1m 3s');
    expect(formatDuration(Number.NaN)).toBe('\u2014');
    expect(formatDuration(Infinity)).toBe('\u2014');
  });
});

/** WCAG 2 relative luminance of a #rrggbb colour. */
function relativeLuminance(hex: string): number {
  const [red, green, blue] = [1, 3, 5].map((offset) => {
    const channel = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue;
}

function contrastRatio(left: string, right: string): number {
  const [lighter, darker] = [relativeLuminance(left), relativeLuminance(right)].sort((a, b) => b - a) as [number, number];
  return (lighter + 0.05) / (darker + 0.05);
}

/** OKLab, where Euclidean distance tracks perceived difference (~0.02 is just noticeable). */
function oklab(hex: string): [number, number, number] {
  const [red, green, blue] = [1, 3, 5].map((offset) => {
    const channel = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255;
    return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const long = Math.cbrt(0.4122214708 * red + 0.5363325363 * green + 0.0514459929 * blue);
  const medium = Math.cbrt(0.2119034982 * red + 0.6806995451 * green + 0.1073969566 * blue);
  const short = Math.cbrt(0.0883024619 * red + 0.2817188376 * green + 0.6299787005 * blue);
  return [
    0.2104542553 * long + 0.793617785 * medium - 0.0040720468 * short,
    1.9779984951 * long - 2.428592205 * medium + 0.4505937099 * short,
    0.0259040371 * long + 0.7827717662 * medium - 0.808675766 * short,
  ];
}

describe('service colours', () => {
  it('has at least 12 distinct, well-formed colours', () => {
    expect(SERVICE_PALETTE.length).toBeGreaterThanOrEqual(12);
    expect(new Set(SERVICE_PALETTE.map((colour) => colour.hex)).size).toBe(SERVICE_PALETTE.length);
    for (const colour of SERVICE_PALETTE) expect(colour.hex).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('keeps 3:1 contrast against both light and dark backgrounds', () => {
    for (const { hex } of SERVICE_PALETTE) {
      expect(contrastRatio(hex, '#ffffff'), `${hex} on white`).toBeGreaterThanOrEqual(3);
      expect(contrastRatio(hex, '#1b1b1f'), `${hex} on dark`).toBeGreaterThanOrEqual(3);
    }
  });

  it('keeps every pair of colours clearly apart', () => {
    for (const [index, left] of SERVICE_PALETTE.entries()) {
      for (const right of SERVICE_PALETTE.slice(index + 1)) {
        const [a, b] = [oklab(left.hex), oklab(right.hex)];
        const distance = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
        expect(distance, `${left.hex} vs ${right.hex}`).toBeGreaterThanOrEqual(0.1);
      }
    }
  });

  it('gives a service the same colour every time', () => {
    expect(servicePaletteIndex('orders')).toBe(servicePaletteIndex('orders'));
    expect(serviceColour('orders-db')).toBe(SERVICE_PALETTE[servicePaletteIndex('orders-db')]?.hex);
  });

  it('pins a few assignments, so a hash change (which recolours every service) is deliberate', () => {
    expect(['orders', 'orders-db', 'frontend', 'unknown_service', ''].map(servicePaletteIndex)).toEqual([8, 5, 9, 9, 1]);
  });

  it('spreads names over the whole palette', () => {
    const used = new Set(Array.from({ length: 200 }, (_, index) => servicePaletteIndex(`service-${index}`)));
    expect(used.size).toBe(SERVICE_PALETTE.length);
  });
});

describe('local times', () => {
  const millis = new Date(2024, 4, 1, 9, 4, 5, 23).getTime();

  it('formats a moment in local time, with milliseconds on request', () => {
    expect(formatLocalTime(millis)).toBe('09:04:05');
    expect(formatLocalTime(millis, { milliseconds: true })).toBe('09:04:05.023');
    expect(formatLocalDateTime(millis)).toBe('2024-05-01 09:04:05');
    expect(formatLocalDateTime(millis, { milliseconds: true })).toBe('2024-05-01 09:04:05.023');
  });

  it('leaves the date out on the same day only', () => {
    expect(formatLocalTimestamp(millis, new Date(2024, 4, 1, 23, 59).getTime())).toBe('09:04:05.023');
    expect(formatLocalTimestamp(millis, new Date(2024, 4, 2, 0, 1).getTime())).toBe('2024-05-01 09:04:05.023');
  });

  it('reads Unix nanoseconds beyond 2^53 as whole milliseconds', () => {
    expect(unixNanoToMillis('1763700000123999999')).toBe(1_763_700_000_123);
    expect(unixNanoToMillis(1_763_700_000_123_000_001n)).toBe(1_763_700_000_123);
    expect(unixNanoToMillis('not a number')).toBeNaN();
  });
});

describe('formatRelativeTime', () => {
  const now = 1_000_000_000;

  it.each([
    [0, 'just now'],
    [4_999, 'just now'],
    [5_000, '5 s ago'],
    [42_000, '42 s ago'],
    [59_999, '59 s ago'],
    [60_000, '1 min ago'],
    [119_999, '1 min ago'],
    [3 * 60_000 + 5_000, '3 min ago'],
    [3_600_000 - 1, '59 min ago'],
    [5 * 3_600_000, '5 h ago'],
    [24 * 3_600_000 - 1, '23 h ago'],
    [50 * 3_600_000, '2 d ago'],
  ])('%d ms ago is %s (whole units, rounded down)', (ago, expected) => {
    expect(formatRelativeTime(now - ago, now)).toBe(expected);
  });

  it('tolerates a little clock skew and says so beyond it', () => {
    expect(formatRelativeTime(now + 3_000, now)).toBe('just now');
    expect(formatRelativeTime(now + 60_000, now)).toBe('in the future');
    expect(formatRelativeTime(Number.NaN, now)).toBe('\u2014');
  });
});
