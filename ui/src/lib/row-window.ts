// Which rows of a long list are in the DOM: those in or near the viewport, plus one row that
// must stay (the selected or focused one, so focus and `aria-activedescendant` always resolve).
// Shared by the trace waterfall and the compare tree; fixed row heights make it arithmetic.

/**
 * Indices of the rows to render, ascending within the viewport window, with `keep` first when
 * it lies outside it. `scrollTop` is how far the list's top is above the viewport's.
 */
export function renderedRowIndices(
  rowCount: number,
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  overscanRows: number,
  keep: number | null,
): number[] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscanRows);
  const last = Math.min(rowCount, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscanRows);
  const indices: number[] = [];
  if (keep !== null && keep >= 0 && keep < rowCount && (keep < first || keep >= last)) indices.push(keep);
  for (let index = first; index < last; index += 1) indices.push(index);
  return indices;
}
