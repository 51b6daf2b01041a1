// CPU references for matmul.ts: the GEMM computes what linear() computes (kernels/linear/linear.ref.ts, re-exported
// here); the expert grouping's tiles per expert, in the order expert-groups.wgsl writes them.
export { linearRef as matmulRef } from '../linear/linear.ref.ts';

export interface GroupTile {
  expert: number;
  /** item indices of this tile, in ascending order (the GPU's order within an expert is free) */
  items: number[];
}

/**
 * The tiles of a grouping: experts in ascending order, each expert's items (ids[n] = expert; ids ≥ experts are left
 * out) cut into runs of at most tileItems.
 */
export function expertGroupsRef(ids: Uint32Array, experts: number, tileItems: number): GroupTile[] {
  const byExpert: number[][] = Array.from({ length: experts }, () => []);
  ids.forEach((e, n) => {
    if (e < experts) byExpert[e].push(n);
  });
  const tiles: GroupTile[] = [];
  byExpert.forEach((list, expert) => {
    for (let s = 0; s < list.length; s += tileItems) tiles.push({ expert, items: list.slice(s, s + tileItems) });
  });
  return tiles;
}
