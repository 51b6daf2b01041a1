// Groups the items of an expert call by expert, for matmul.wgsl's GROUPED mode: a counting sort in one workgroup.
// In: ids [items] u32, the expert (or slot) of each item; ids ≥ P.experts (e.g. 0xffffffff: not in this paging
// round) are left out. Out: groups [0, items): the item indices sorted by expert (the order within an expert is
// whatever the atomics give: each item's output depends only on its own row); groups [items + 3t ..]: tile t =
// (expert, first position in the sorted list, item count ≤ P.tileItems); tiles past the last used one get expert
// 0xffffffff, up to P.maxTiles (≥ ceil(items / tileItems) + min(experts, items), which no grouping exceeds); then
// groups [items + 3·maxTiles + e], e ≤ experts: the first tile of expert e (tiles are in expert order, so the tiles
// of experts [a, b) are [first[a], first[b]): a segment's dispatch needs only as many workgroups as its own tiles).
var<workgroup> cursor: array<atomic<u32>, 1024>;
var<workgroup> usedTiles: u32;

@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> groups: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  for (var e = lid; e < P.experts; e += 256u) { atomicStore(&cursor[e], 0u); }
  workgroupBarrier();
  for (var n = lid; n < P.items; n += 256u) {
    let e = ids[n];
    if (e < P.experts) { atomicAdd(&cursor[e], 1u); }
  }
  workgroupBarrier();
  // counts → start positions, and the tile table (serial: experts and tiles are few)
  if (lid == 0u) {
    var at = 0u;
    var tile = 0u;
    let firstTile = P.items + 3u * P.maxTiles;
    for (var e = 0u; e < P.experts; e++) {
      groups[firstTile + e] = tile;
      let c = atomicLoad(&cursor[e]);
      atomicStore(&cursor[e], at);
      for (var s = 0u; s < c; s += P.tileItems) {
        let t = P.items + tile * 3u;
        groups[t] = e;
        groups[t + 1u] = at + s;
        groups[t + 2u] = min(P.tileItems, c - s);
        tile++;
      }
      at += c;
    }
    groups[firstTile + P.experts] = tile;
    usedTiles = tile;
  }
  workgroupBarrier();
  for (var t = usedTiles + lid; t < P.maxTiles; t += 256u) { groups[P.items + t * 3u] = 0xffffffffu; }
  for (var n = lid; n < P.items; n += 256u) {
    let e = ids[n];
    if (e < P.experts) { groups[atomicAdd(&cursor[e], 1u)] = n; }
  }
}
