// The keyboard of a tree of rows (the WAI-ARIA tree pattern), shared by the trace waterfall and
// the compare tree: ↑/↓ and PageUp/PageDown move, Home/End jump, → expands or steps into the
// children, ← collapses or goes to the parent, Enter/Space fold. Pure: the views apply it.

/** What the focused row is, as far as the keys care. */
export interface TreeKeyRow {
  readonly hasChildren: boolean;
  readonly collapsed: boolean;
}

export type TreeKeyAction =
  /** Select the row at this index (already clamped to the rows). */
  | { readonly kind: 'move'; readonly to: number }
  /** Expand or collapse the focused row. */
  | { readonly kind: 'toggle' }
  /** Select the focused row's parent. */
  | { readonly kind: 'parent' }
  /** A tree key with nothing to do here (still the tree's, not the page's). */
  | { readonly kind: 'none' };

/**
 * The action of `key` on a tree of `rowCount` rows whose focused row is at `index` (-1 when none
 * is) and is `row`; `pageRows` rows make a page. Null for keys that are not the tree's.
 */
export function treeKeyAction(key: string, index: number, rowCount: number, row: TreeKeyRow | null, pageRows: number): TreeKeyAction | null {
  const move = (to: number): TreeKeyAction => ({ kind: 'move', to: Math.min(Math.max(to, 0), rowCount - 1) });
  switch (key) {
    case 'ArrowDown':
      return move(index + 1);
    case 'ArrowUp':
      return move(index - 1);
    case 'PageDown':
      return move(index + pageRows);
    case 'PageUp':
      return move(index - pageRows);
    case 'Home':
      return move(0);
    case 'End':
      return move(rowCount - 1);
    case 'ArrowRight':
      if (row?.collapsed) return { kind: 'toggle' };
      return row?.hasChildren ? move(index + 1) : { kind: 'none' };
    case 'ArrowLeft':
      if (row?.hasChildren && !row.collapsed) return { kind: 'toggle' };
      return row ? { kind: 'parent' } : { kind: 'none' };
    case 'Enter':
    case ' ':
      if (row === null) return move(0);
      return row.hasChildren ? { kind: 'toggle' } : { kind: 'none' };
    default:
      return null;
  }
}
