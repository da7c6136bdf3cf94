"""A layered left-to-right layout of a directed acyclic graph, without Graphviz.

Sugiyama's method, every step a plain loop (no recursion, so deep graphs are fine):

1. **Layers.** Longest path from the sources: a node sits one layer right of its
   rightmost argument. Sources listed in ``first`` (the inputs) stay in layer 0;
   other sources (constants) move next to their first consumer.
2. **Columns.** Layer ``r`` becomes column ``2r``; the odd columns between hold
   the edges. An edge gets one virtual item in every column it crosses, and the
   one just before its target carries its label box, so labels take up space
   like nodes and never overlap anything.
3. **Order.** Barycentre sweeps left to right and back, keeping the order with
   the fewest crossings (counted exactly with a Fenwick tree).
4. **Coordinates.** ``x`` per column from its widest item. ``y`` by repeated
   relaxation: each item moves to the mean height of its neighbours, then the
   column is projected onto "no overlap, order kept" by isotonic regression
   (pool adjacent violators), which is the closest placement that keeps the gaps.
5. **Routes.** An edge runs straight through each column at its item's height
   and bends in an S-curve in the gap between columns, so it never crosses a box.

>>> layout = layered_layout([(30, 20), (30, 20), (50, 20)], [(0, 2), (1, 2)],
...                         labels=[(40, 12), (40, 12)], first=[0, 1])
>>> layout.layers
(0, 0, 1)
>>> [round(box.x) for box in layout.boxes], [round(box.y) for box in layout.boxes]
([27, 27, 163], [22, 58, 40])
>>> any(a.overlaps(b) for a in layout.boxes for b in layout.boxes if a is not b)
False
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass

Point = tuple[float, float]
Size = tuple[float, float]  # (width, height)


@dataclass(frozen=True)
class Box:
    """A placed rectangle: centre ``(x, y)`` (``y`` grows downwards) and size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def left(self) -> float:
        return self.x - self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width / 2

    @property
    def top(self) -> float:
        return self.y - self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height / 2

    def overlaps(self, other: Box) -> bool:
        """Whether the two boxes share interior points (touching edges do not count)."""
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )


@dataclass(frozen=True)
class Route:
    """The drawn path of one edge.

    ``points`` alternate: ``p0→p1`` is straight, ``p1→p2`` an S-curve with
    horizontal ends, ``p2→p3`` straight, and so on; the last run ends on the
    target's left side.
    """

    source: int
    target: int
    points: tuple[Point, ...]
    label: Box | None  # where the label goes: its bottom edge lies on the route


@dataclass(frozen=True)
class Layout:
    """Where every node and edge goes; coordinates in points, origin top left."""

    boxes: tuple[Box, ...]
    routes: tuple[Route, ...]
    width: float
    height: float
    layers: tuple[int, ...]
    crossings: int  # pairs of edges that cross


@dataclass(frozen=True)
class Spacing:
    """Distances in points."""

    column_gap: float = 28.0  # between neighbouring columns, where edges bend
    node_gap: float = 16.0  # vertically between a box and anything else
    line_gap: float = 7.0  # vertically between two edges passing through a column
    margin: float = 12.0
    port_spread: float = 8.0  # between edge ends on one side of a box
    max_sweeps: int = 24


def layered_layout(
    sizes: Sequence[Size],
    edges: Sequence[tuple[int, int]],
    labels: Sequence[Size | None] | None = None,
    *,
    first: Collection[int] = (),
    spacing: Spacing = Spacing(),
) -> Layout:
    """Lay out nodes of the given sizes joined by ``edges`` (source, target), left to right.

    ``labels`` gives each edge's label size (or None); nodes in ``first`` that have
    no incoming edge stay in the first column. Raises ValueError on a cycle.
    """
    layers = _layers(len(sizes), edges, set(first))
    grid = _Grid(sizes, edges, labels or [None] * len(edges), layers, spacing)
    grid.order()
    grid.place()
    return grid.layout(tuple(layers))


def total_span(count: int, edges: Sequence[tuple[int, int]], first: Collection[int] = ()) -> int:
    """How many layers the edges cross in all: the number of virtual items a layered
    layout needs, which drives its cost (Graphviz's dot too).

    >>> total_span(3, [(0, 1), (1, 2), (0, 2)], first=[0])
    4
    """
    layer = _layers(count, edges, set(first))
    return sum(layer[target] - layer[source] for source, target in edges)


def _layers(count: int, edges: Sequence[tuple[int, int]], first: set[int]) -> list[int]:
    predecessors: list[list[int]] = [[] for _ in range(count)]
    successors: list[list[int]] = [[] for _ in range(count)]
    for source, target in edges:
        successors[source].append(target)
        predecessors[target].append(source)
    order = _topological_order(predecessors, successors)
    layer = [0] * count
    for node in order:
        for source in predecessors[node]:
            layer[node] = max(layer[node], layer[source] + 1)
    for node in reversed(order):  # consumers are final before their sources move
        if not predecessors[node] and successors[node] and node not in first:
            layer[node] = min(layer[target] for target in successors[node]) - 1
    return layer


def _topological_order(predecessors: list[list[int]], successors: list[list[int]]) -> list[int]:
    waiting = [len(sources) for sources in predecessors]
    ready = [node for node, count in enumerate(waiting) if count == 0]
    order: list[int] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for target in successors[node]:
            waiting[target] -= 1
            if waiting[target] == 0:
                ready.append(target)
    if len(order) != len(predecessors):
        raise ValueError("the graph has a cycle")
    return order


class _Grid:
    """Nodes and virtual edge items in columns: the working state of the layout.

    Items ``0 .. n-1`` are the nodes; the rest are virtual items, one per column an
    edge crosses. Every link joins items in neighbouring columns.
    """

    def __init__(
        self,
        sizes: Sequence[Size],
        edges: Sequence[tuple[int, int]],
        labels: Sequence[Size | None],
        layers: list[int],
        spacing: Spacing,
    ) -> None:
        self.spacing = spacing
        self.node_count = len(sizes)
        self.edges = list(edges)
        self.size: list[Size] = list(sizes)
        self.column: list[int] = [2 * layer for layer in layers]
        self.offset: list[float] = [0.0] * len(sizes)  # where routes cross: y + offset
        self.left: list[list[int]] = [[] for _ in sizes]  # linked items one column left
        self.right: list[list[int]] = [[] for _ in sizes]
        self.chains: list[list[int]] = []  # per edge: its virtual items, left to right
        self.label_item: list[int | None] = []
        for (source, target), label in zip(edges, labels, strict=True):
            self._add_edge(source, target, label)
        columns = max(self.column, default=-1) + 1
        self.columns: list[list[int]] = [[] for _ in range(columns)]
        for item, column in enumerate(self.column):
            self.columns[column].append(item)
        self.position = [0] * len(self.column)
        self._number()
        self.y = [0.0] * len(self.column)

    def _add_edge(self, source: int, target: int, label: Size | None) -> None:
        chain = []
        previous = source
        for column in range(self.column[source] + 1, self.column[target]):
            item = len(self.column)
            last = column == self.column[target] - 1
            size = label if last and label is not None else (0.0, 0.0)
            self.column.append(column)
            self.size.append(size)
            self.offset.append(size[1] / 2)  # the route runs along the label's bottom
            self.left.append([previous])
            self.right.append([])
            self.right[previous].append(item)
            chain.append(item)
            previous = item
        self.left[target].append(previous)
        self.right[previous].append(target)
        self.chains.append(chain)
        self.label_item.append(chain[-1] if label is not None else None)

    def _number(self) -> None:
        for column in self.columns:
            for index, item in enumerate(column):
                self.position[item] = index

    # ---------------------------------------------------------------- order

    def order(self) -> None:
        """Barycentre sweeps from a few starting orders; keep the fewest crossings.

        The starts are depth-first orders from the output: arguments in their
        order (for an expression without shared parts that has no crossings), then,
        for small graphs, with arguments shuffled at each node (a fixed seed, so the
        picture is the same every time): shared inputs need their two uses next to
        each other, which a fixed order often misses.
        """
        tries = 1 if len(self.column) >= 2000 else (3 if len(self.column) >= 300 else 24)
        shuffler = random.Random(2022)
        best: tuple[int, list[list[int]]] | None = None
        for attempt in range(tries):
            self.columns = self._depth_first(shuffler if attempt else None)
            self._number()
            count = self._improve()
            if best is None or count < best[0]:
                best = (count, [list(c) for c in self.columns])
            if count == 0:
                break
        assert best is not None
        self.columns = best[1]
        self._number()

    def _depth_first(self, shuffler: random.Random | None) -> list[list[int]]:
        """Columns sorted by post-order of a depth-first walk leftwards from the sinks,
        visiting arguments in order, or in an order ``shuffler`` picks per item."""
        children_of = [list(linked) for linked in self.left]
        if shuffler is not None:
            for children in children_of:
                shuffler.shuffle(children)
        rank = [-1] * len(self.column)
        counter = 0
        for sink in [item for item in range(len(self.column)) if not self.right[item]]:
            stack = [(sink, 0)]
            while stack:
                item, next_child = stack.pop()
                children = children_of[item]
                if next_child < len(children):
                    stack.append((item, next_child + 1))
                    if rank[children[next_child]] < 0:
                        stack.append((children[next_child], 0))
                elif rank[item] < 0:
                    rank[item] = counter
                    counter += 1
        return [sorted(column, key=rank.__getitem__) for column in self.columns]

    def _improve(self) -> int:
        """Sweep until crossings stop falling; leave the best order, return its count."""
        best, fewest = [list(c) for c in self.columns], self.crossings()
        stale = 0
        for _ in range(self.spacing.max_sweeps):
            if fewest == 0 or stale >= 3:
                break
            for column in range(1, len(self.columns)):
                self._sort(column, self.left)
            for column in range(len(self.columns) - 2, -1, -1):
                self._sort(column, self.right)
            self._transpose()
            count = self.crossings()
            if count < fewest:
                best, fewest, stale = [list(c) for c in self.columns], count, 0
            else:
                stale += 1
        self.columns = best
        self._number()
        return fewest

    def _sort(self, column: int, neighbours: list[list[int]]) -> None:
        def key(item: int) -> tuple[float, int]:
            linked = neighbours[item]
            if not linked:  # nothing to follow: stay where it is
                return (float(self.position[item]), self.position[item])
            return (sum(self.position[n] for n in linked) / len(linked), self.position[item])

        self.columns[column].sort(key=key)
        for index, item in enumerate(self.columns[column]):
            self.position[item] = index

    def _transpose(self) -> None:
        """Swap neighbours in a column while that removes crossings (a local fix-up
        for what barycentres miss, as in Graphviz's dot)."""
        for _ in range(4 if len(self.column) < 5000 else 1):
            improved = False
            for column in self.columns:
                for index in range(len(column) - 1):
                    upper, lower = column[index], column[index + 1]
                    if self._pair_crossings(lower, upper) < self._pair_crossings(upper, lower):
                        column[index], column[index + 1] = lower, upper
                        self.position[upper], self.position[lower] = index + 1, index
                        improved = True
            if not improved:
                return

    def _pair_crossings(self, upper: int, lower: int) -> int:
        """Crossings between the links of ``upper`` and ``lower`` if ``upper`` is above."""
        count = 0
        for links in (self.left, self.right):
            for a in links[upper]:
                for b in links[lower]:
                    count += self.position[a] > self.position[b]
        return count

    def crossings(self) -> int:
        """How many pairs of links cross, over all neighbouring columns."""
        total = 0
        for column in self.columns:
            links = sorted(
                (self.position[item], self.position[other])
                for item in column
                for other in self.right[item]
            )
            total += _inversions([target for _, target in links])
        return total

    # ---------------------------------------------------------------- coordinates

    def place(self) -> None:
        """Heights: relax towards the neighbours' mean, projected onto no overlap."""
        for column in self.columns:
            self.y_column(column, [0.0] * len(column))
        sweeps = 12 if len(self.column) < 5000 else 4
        for sweep in range(sweeps):
            order = range(len(self.columns))
            for index in order if sweep % 2 == 0 else reversed(order):
                column = self.columns[index]
                self.y_column(column, [self._wanted(item) for item in column])

    def _wanted(self, item: int) -> float:
        linked = self.left[item] + self.right[item]
        if not linked:
            return self.y[item]
        mean = sum(self.y[n] + self.offset[n] for n in linked) / len(linked)
        return mean - self.offset[item]

    def y_column(self, column: list[int], wanted: list[float]) -> None:
        gaps = [self._gap(a, b) for a, b in itertools.pairwise(column)]
        for item, y in zip(column, closest_ordered(wanted, gaps), strict=True):
            self.y[item] = y

    def _gap(self, upper: int, lower: int) -> float:
        both_virtual = upper >= self.node_count and lower >= self.node_count
        space = self.spacing.line_gap if both_virtual else self.spacing.node_gap
        return (self.size[upper][1] + self.size[lower][1]) / 2 + space

    # ---------------------------------------------------------------- result

    def layout(self, layers: tuple[int, ...]) -> Layout:
        margin = self.spacing.margin
        top = min((self.y[i] - self.size[i][1] / 2 for i in range(len(self.y))), default=0.0)
        self.y = [y - top + margin for y in self.y]
        centres, edges = self._column_centres()
        x = [centres[column] for column in self.column]
        boxes = tuple(Box(x[i], self.y[i], *self.size[i]) for i in range(self.node_count))
        routes = [self._route(e, boxes, edges) for e in range(len(self.edges))]
        labels = [route.label for route in routes if route.label is not None]
        routes = [straightened(route, boxes, labels) for route in routes]
        bottom = max((self.y[i] + self.size[i][1] / 2 for i in range(len(self.y))), default=0.0)
        width = (edges[-1][1] if edges else 0.0) + margin
        return Layout(boxes, tuple(routes), width, bottom + margin, layers, self.crossings())

    def _column_centres(self) -> tuple[list[float], list[tuple[float, float]]]:
        centres, edges = [], []
        left = self.spacing.margin
        for column in self.columns:
            width = max((self.size[item][0] for item in column), default=0.0)
            centres.append(left + width / 2)
            edges.append((left, left + width))
            left += width + self.spacing.column_gap
        return centres, edges

    def _ports(self, node: int, ends: list[int]) -> dict[int, float]:
        """Heights where edges meet one side of a node, spread in their order."""
        ends = sorted(ends, key=lambda item: self.y[item] + self.offset[item])
        step = min(self.spacing.port_spread, self.size[node][1] / (len(ends) + 1))
        middle = (len(ends) - 1) / 2
        return {item: self.y[node] + (k - middle) * step for k, item in enumerate(ends)}

    def _route(self, edge: int, boxes: tuple[Box, ...], edges: list[tuple[float, float]]) -> Route:
        source, target = self.edges[edge]
        chain = self.chains[edge]
        start_y = self._ports(source, self.right[source])[chain[0]]
        end_y = self._ports(target, self.left[target])[chain[-1]]
        runs: list[tuple[Point, Point]] = [
            ((boxes[source].right, start_y), (edges[self.column[source]][1], start_y))
        ]
        for item in chain:
            y = self.y[item] + self.offset[item]
            column_left, column_right = edges[self.column[item]]
            runs.append(((column_left, y), (column_right, y)))
        runs.append(((edges[self.column[target]][0], end_y), (boxes[target].left, end_y)))
        label_item = self.label_item[edge]
        label = None
        if label_item is not None:
            column_left, column_right = edges[self.column[label_item]]
            label = Box(
                (column_left + column_right) / 2, self.y[label_item], *self.size[label_item]
            )
        points = [point for run in runs for point in run]
        return Route(source, target, tuple(points), label)


def straightened(
    route: Route, boxes: Sequence[Box], labels: Sequence[Box], clearance: float = 3.0
) -> Route:
    """The route with each stretch of bare virtual items replaced by one S-curve where
    that curve keeps ``clearance`` from every other node and label.

    A long edge then sweeps in one smooth curve instead of a staircase. The curve's
    x only grows, so it cannot run back into the edge's own ends.
    """
    obstacles = [
        box for index, box in enumerate(boxes) if index not in (route.source, route.target)
    ]
    obstacles += [label for label in labels if label is not route.label]
    points = list(route.points)
    runs = [(points[i], points[i + 1]) for i in range(0, len(points), 2)]
    keep = [True] * len(runs)
    anchor = 0
    for index in range(1, len(runs)):
        if not _is_anchor(runs, index, route):
            continue
        if index - anchor > 1 and _clear(runs[anchor][1], runs[index][0], obstacles, clearance):
            for skipped in range(anchor + 1, index):
                keep[skipped] = False
        anchor = index
    kept = [point for run, wanted in zip(runs, keep, strict=True) if wanted for point in run]
    return Route(route.source, route.target, tuple(kept), route.label)


def _is_anchor(runs: list[tuple[Point, Point]], index: int, route: Route) -> bool:
    """The ends and the run under the label are fixed; other runs may be skipped."""
    if index == len(runs) - 1:
        return True
    label = route.label
    return label is not None and index == len(runs) - 2


def _clear(start: Point, end: Point, obstacles: Sequence[Box], clearance: float) -> bool:
    """Whether the S-curve from ``start`` to ``end`` keeps ``clearance`` from every box.

    Exact, not sampled: with its controls at mid-width, the curve is
    ``x = x0 + dx·(1.5t − 1.5t² + t³)``, ``y = y0 + dy·(3t² − 2t³)``, both monotonic
    in t, so over a box's x-range the curve's y spans exactly [y(t_a), y(t_b)].
    """
    low, high = min(start[0], end[0]), max(start[0], end[0])
    for box in obstacles:
        left, right = box.left - clearance, box.right + clearance
        if right <= low or left >= high:
            continue
        t_a, t_b = (_curve_t(start[0], end[0], x) for x in (max(left, low), min(right, high)))
        y_a, y_b = (start[1] + (end[1] - start[1]) * (3 * t * t - 2 * t**3) for t in (t_a, t_b))
        if min(y_a, y_b) < box.bottom + clearance and max(y_a, y_b) > box.top - clearance:
            return False
    return True


def _curve_t(x0: float, x1: float, x: float) -> float:
    """The t where the S-curve from x0 to x1 reaches x (bisection; x(t) is increasing)."""
    if x1 == x0:
        return 0.0
    target = (x - x0) / (x1 - x0)
    low, high = 0.0, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        if 1.5 * middle - 1.5 * middle**2 + middle**3 < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def closest_ordered(wanted: Sequence[float], gaps: Sequence[float]) -> list[float]:
    """Positions nearest ``wanted`` (least squares) with ``y[i+1] - y[i] >= gaps[i]``.

    Subtracting the cumulative gaps turns this into isotonic regression, which
    pool-adjacent-violators solves exactly in linear time.

    >>> closest_ordered([0.0, 0.0, 10.0], [4.0, 4.0])
    [-2.0, 2.0, 10.0]
    """
    shift = [0.0]
    for gap in gaps:
        shift.append(shift[-1] + gap)
    blocks: list[list[float]] = []  # [sum, count] of pooled targets
    for want, offset in zip(wanted, shift, strict=True):
        blocks.append([want - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] > blocks[-1][0] * blocks[-2][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    pooled = [total / count for total, count in blocks for _ in range(int(count))]
    return [value + offset for value, offset in zip(pooled, shift, strict=True)]


def _inversions(values: list[int]) -> int:
    """Pairs ``i < j`` with ``values[i] > values[j]`` (a Fenwick tree, n log n)."""
    size = max(values, default=-1) + 2
    tree = [0] * (size + 1)
    count = 0
    for seen, value in enumerate(values):
        index = value + 1
        not_greater = 0
        while index > 0:
            not_greater += tree[index]
            index -= index & -index
        count += seen - not_greater
        index = value + 1
        while index <= size:
            tree[index] += 1
            index += index & -index
    return count
