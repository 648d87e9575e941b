// Small pieces the metric tables share: a sortable column header, an error rate coloured by its
// level, and the sort state hook.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import './metric-table.css';
import { errorLevel, formatPercent, type SortDirection } from '../lib/metrics-view';

export interface SortState<K extends string> {
  key: K;
  direction: SortDirection;
}

/** Sort state for a table: clicking the sorted column flips it, another column starts at `initial`. */
export function useSort<K extends string>(key: K, direction: SortDirection = 'desc') {
  const [sort, setSort] = useState<SortState<K>>({ key, direction });
  const toggle = (next: K, firstDirection: SortDirection = 'desc') =>
    setSort((current) => (current.key === next ? { key: next, direction: current.direction === 'asc' ? 'desc' : 'asc' } : { key: next, direction: firstDirection }));
  return [sort, toggle] as const;
}

export function SortHeader<K extends string>({
  column,
  sort,
  onSort,
  children,
  numeric = false,
  firstDirection = 'desc',
  title,
}: {
  column: K;
  sort: SortState<K>;
  onSort: (column: K, firstDirection: SortDirection) => void;
  children: ComponentChildren;
  numeric?: boolean;
  firstDirection?: SortDirection;
  title?: string;
}) {
  const active = sort.key === column;
  return (
    <th class={numeric ? 'num' : undefined} aria-sort={active ? (sort.direction === 'asc' ? 'ascending' : 'descending') : 'none'} scope="col" title={title}>
      <button type="button" class="sort" onClick={() => onSort(column, firstDirection)}>
        {children}
        <span class={active ? 'sort-arrow sort-active' : 'sort-arrow'} aria-hidden="true">
          {active ? (sort.direction === 'asc' ? '\u25b2' : '\u25bc') : '\u25bd'}
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
