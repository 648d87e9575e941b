import { describe, expect, it } from 'vitest';
import { treeKeyAction } from './tree-navigation';

const leaf = { hasChildren: false, collapsed: false };
const open = { hasChildren: true, collapsed: false };
const folded = { hasChildren: true, collapsed: true };

describe('tree keyboard', () => {
  it('moves by one, by a page and to the ends, clamped to the rows', () => {
    expect(treeKeyAction('ArrowDown', 3, 10, leaf, 5)).toEqual({ kind: 'move', to: 4 });
    expect(treeKeyAction('ArrowDown', 9, 10, leaf, 5)).toEqual({ kind: 'move', to: 9 });
    expect(treeKeyAction('ArrowUp', 0, 10, leaf, 5)).toEqual({ kind: 'move', to: 0 });
    expect(treeKeyAction('PageDown', 7, 10, leaf, 5)).toEqual({ kind: 'move', to: 9 });
    expect(treeKeyAction('PageUp', 7, 10, leaf, 5)).toEqual({ kind: 'move', to: 2 });
    expect(treeKeyAction('Home', 7, 10, leaf, 5)).toEqual({ kind: 'move', to: 0 });
    expect(treeKeyAction('End', 2, 10, leaf, 5)).toEqual({ kind: 'move', to: 9 });
  });

  it('starts at the first row when nothing is focused', () => {
    expect(treeKeyAction('ArrowDown', -1, 10, null, 5)).toEqual({ kind: 'move', to: 0 });
    expect(treeKeyAction('ArrowUp', -1, 10, null, 5)).toEqual({ kind: 'move', to: 0 });
    expect(treeKeyAction('Enter', -1, 10, null, 5)).toEqual({ kind: 'move', to: 0 });
    expect(treeKeyAction('ArrowLeft', -1, 10, null, 5)).toEqual({ kind: 'none' });
  });

  it('folds like a file tree', () => {
    expect(treeKeyAction('ArrowRight', 2, 10, folded, 5)).toEqual({ kind: 'toggle' });
    expect(treeKeyAction('ArrowRight', 2, 10, open, 5)).toEqual({ kind: 'move', to: 3 });
    expect(treeKeyAction('ArrowRight', 2, 10, leaf, 5)).toEqual({ kind: 'none' });
    expect(treeKeyAction('ArrowLeft', 2, 10, open, 5)).toEqual({ kind: 'toggle' });
    expect(treeKeyAction('ArrowLeft', 2, 10, folded, 5)).toEqual({ kind: 'parent' });
    expect(treeKeyAction('ArrowLeft', 2, 10, leaf, 5)).toEqual({ kind: 'parent' });
    expect(treeKeyAction('Enter', 2, 10, open, 5)).toEqual({ kind: 'toggle' });
    expect(treeKeyAction(' ', 2, 10, folded, 5)).toEqual({ kind: 'toggle' });
    expect(treeKeyAction('Enter', 2, 10, leaf, 5)).toEqual({ kind: 'none' });
  });

  it('leaves other keys to the page', () => {
    expect(treeKeyAction('Escape', 2, 10, leaf, 5)).toBeNull();
    expect(treeKeyAction('a', 2, 10, leaf, 5)).toBeNull();
  });
});
