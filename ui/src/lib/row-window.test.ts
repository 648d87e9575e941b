import { describe, expect, it } from 'vitest';
import { renderedRowIndices } from './row-window';

describe('rendered rows', () => {
  it('renders the rows in view plus the overscan, within the list', () => {
    // Rows of 10 px, 30 px in view from 100 px down: rows 10–12, two more either side.
    expect(renderedRowIndices(1_000, 100, 30, 10, 2, null)).toEqual([8, 9, 10, 11, 12, 13, 14]);
    expect(renderedRowIndices(5, 0, 300, 10, 2, null)).toEqual([0, 1, 2, 3, 4]);
    expect(renderedRowIndices(0, 0, 300, 10, 2, null)).toEqual([]);
  });

  it('keeps the selected row in the DOM when it is scrolled away, and only once', () => {
    expect(renderedRowIndices(1_000, 100, 30, 10, 2, 500)).toEqual([500, 8, 9, 10, 11, 12, 13, 14]);
    expect(renderedRowIndices(1_000, 100, 30, 10, 2, 11)).toEqual([8, 9, 10, 11, 12, 13, 14]);
    expect(renderedRowIndices(1_000, 100, 30, 10, 2, 5_000)).toEqual([8, 9, 10, 11, 12, 13, 14]);
  });
});
