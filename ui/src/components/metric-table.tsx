// Small pieces the app's tables share: a sortable column header, an error rate coloured by its
// level, and the sort state hook. Every sortable table (the search results, the services, the
// map's calls and services) uses these, so sorting looks and behaves the same everywhere.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import './metric-table.css';
import { errorLevel, formatPercent, nextSort, type SortDirection, type SortState } from '../lib/metrics-view';

export type { SortState } from '../lib/metrics-view';

/** Sort state for a table: clicking the sorted column flips it, another column starts at its `firstDirection`. */
export function useSort<K extends string>(key: K, direction: SortDirection = 'desc') {
  const [sort, setSort] = useState<SortState<K>>({ key, direction });
  const toggle = (next: K, firstDirection: SortDirection = 'desc') => setSort((current) => nextSort(current, next, firstDirection));
  return [sort, toggle] as const;
}

/** The arrow after a header: ▲ ascending, ▼ descending, ▽ for a column that is not the sorted one. */
function sortArrow(active: boolean, direction: SortDirection): string {
  return active ? (direction === 'asc' ? '\u25b2' : '\u25bc') : '\u25bd';
}

export function SortHeader<K extends string>({
  column,
  sort,
  onSort,
  children,
  numeric = false,
  firstDirection = 'desc',
  title,
  className,
  testId,
}: {
  column: K;
  sort: SortState<K>;
  onSort: (column: K, firstDirection: SortDirection) => void;
  children: ComponentChildren;
  numeric?: boolean;
  firstDirection?: SortDirection;
  title?: string;
  /** Extra classes for the `<th>`, e.g. a column width. */
  className?: string;
  /** The sort button's data-testid. */
  testId?: string;
}) {
  const active = sort.key === column;
  const classes = [numeric ? 'num' : '', className ?? ''].filter(Boolean).join(' ');
  return (
    <th class={classes || undefined} aria-sort={active ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'} scope="col" title={title}>
      <button type="button" class="sort" data-testid={testId} onClick={() => onSort(column, firstDirection)}>
        {children}
        <span class={active ? 'sort-arrow sort-active' : 'sort-arrow'} aria-hidden="true">
          {sortArrow(active, sort.direction)}
        </span>
      </button>
    </th>
  );
}

/** An error rate in its level's colour: muted when there are none, warning from 1 %, error from 5 %. */
export function ErrorRate({ rate, errors }: { rate: number | null; errors?: number }) {
  const level = errorLevel(rate);
  const cls = rate === null || rate === 0 ? 'rate rate-none' : `rate rate-${level}`;
  return (
    <span class={cls} title={errors !== undefined ? `${errors.toLocaleString('en-US')} failed calls` : undefined}>
      {formatPercent(rate)}
    </span>
  );
}
