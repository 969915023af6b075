"""A decision tree over GEMM shapes: which kernel cuBLAS's heuristic picks at a shape it was not
recorded at, learned from the shapes it was.

CART (Breiman, Friedman, Olshen and Stone, *Classification and Regression Trees*, 1984, ch. 4):
binary splits "feature <= threshold" chosen by the largest drop in Gini impurity, grown until
every leaf holds one class, so every training shape is predicted as recorded.

cuBLAS's kernel choice is a cost model of M, N, K and the operands' alignment, with thresholds
along each of them (tile counts, waves, "M <= 64"). Axis-aligned splits follow those thresholds
where a distance in log M, log N, log K (the nearest recorded shape: the rule's previous kernel
choice) blurs them. On the H200's held-out random shapes of seed 5, the bf16 -> float32 GEMMs
reproduced bit for bit went from 598 to 660 of 800 with the tree, and FP32 from 591 to 716
(``docs/cublas.md``).

Features are integers (:data:`FEATURES`); a split's threshold is the largest value of its left
side, so the tree is exact integer data, grown deterministically (features in order, stable sorts,
the first best split kept), and the same table gives the same tree on any machine.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
from numba import njit

FEATURES = ("M", "N", "K", "gcd(N, 8)", "gcd(K, 8)")  # gcd: the 16-, 8-, 4-byte alignment of
#                                                     the rows of 16-bit B and A (cuBLAS's
#                                                     kernels need aligned rows for vector loads)


def features(M, N, K) -> np.ndarray:
    """The tree's inputs for one shape or arrays of shapes: rows of :data:`FEATURES` (int64)."""
    M, N, K = (np.asarray(v, np.int64) for v in (M, N, K))
    return np.stack([M, N, K, np.gcd(N, 8), np.gcd(K, 8)], axis=-1)


@njit(cache=True)
def _grow(X, y, n_classes):  # pragma: no cover - compiled
    n, F = X.shape
    cap = max(2 * n - 1, 1)
    feature = np.full(cap, -1, np.int8)
    value = np.zeros(cap, np.int64)
    right = np.zeros(cap, np.int64)
    order = np.arange(n)
    buf = np.empty(n, np.int64)
    total = np.zeros(n_classes, np.int64)
    left = np.zeros(n_classes, np.int64)
    stack = np.empty((cap, 3), np.int64)  # lo, hi, the node whose right child this is (-1: none)
    stack[0, 0], stack[0, 1], stack[0, 2] = 0, n, -1
    top, nodes = 1, 0
    while top:
        top -= 1
        lo, hi, parent = stack[top, 0], stack[top, 1], stack[top, 2]
        node = nodes
        nodes += 1
        if parent >= 0:
            right[parent] = node
        m = hi - lo
        distinct = 0
        for i in range(lo, hi):
            c = y[order[i]]
            if total[c] == 0:
                distinct += 1
            total[c] += 1
        best, best_f, best_t = -1.0, -1, 0
        if distinct > 1:
            parent_sq = 0.0
            for i in range(lo, hi):  # sum of squared class counts (left[] marks classes seen)
                c = y[order[i]]
                if left[c] == 0:
                    parent_sq += total[c] * total[c]
                    left[c] = 1
            for i in range(lo, hi):
                left[y[order[i]]] = 0
            for f in range(F):
                vals = np.empty(m, np.int64)
                for i in range(m):
                    vals[i] = X[order[lo + i], f]
                srt = np.argsort(vals, kind="mergesort")
                if vals[srt[0]] == vals[srt[m - 1]]:
                    continue
                sl, sr = 0.0, parent_sq
                for p in range(m - 1):
                    c = y[order[lo + srt[p]]]
                    sl += 2 * left[c] + 1
                    left[c] += 1
                    sr -= 2 * (total[c] - left[c]) + 1
                    if vals[srt[p]] != vals[srt[p + 1]]:
                        score = sl / (p + 1) + sr / (m - p - 1)
                        if score > best:
                            best, best_f, best_t = score, f, vals[srt[p]]
                for i in range(lo, hi):
                    left[y[order[i]]] = 0
        if best_f < 0:  # one class (or no feature varies): a leaf of the most frequent class
            top_c, top_n = -1, -1
            for i in range(lo, hi):
                c = y[order[i]]
                if total[c] > top_n or (total[c] == top_n and c < top_c):
                    top_c, top_n = c, total[c]
            value[node] = top_c
        else:
            feature[node], value[node] = best_f, best_t
            k = lo
            for i in range(lo, hi):  # stable partition through buf: <= threshold first
                if X[order[i], best_f] <= best_t:
                    buf[k] = order[i]
                    k += 1
            j = k
            for i in range(lo, hi):
                if X[order[i], best_f] > best_t:
                    buf[j] = order[i]
                    j += 1
            for i in range(lo, hi):
                total[y[order[i]]] = 0
                order[i] = buf[i]
            stack[top, 0], stack[top, 1], stack[top, 2] = k, hi, node
            top += 1
            stack[top, 0], stack[top, 1], stack[top, 2] = lo, k, -1
            top += 1
            continue
        for i in range(lo, hi):
            total[y[order[i]]] = 0
    return feature[:nodes], value[:nodes], right[:nodes]


@dataclass(frozen=True, eq=False)
class ShapeTree:
    """A grown tree in preorder: node i's left child is i + 1, its right child ``right[i]``;
    ``feature[i]`` is -1 at a leaf, whose ``value`` is its class, else the split feature (an
    index into :data:`FEATURES`) and ``value`` the threshold (x <= value goes left)."""

    feature: np.ndarray  # int8
    value: np.ndarray  # int64
    right: np.ndarray  # int64

    def predict(self, X) -> np.ndarray:
        """Each row of ``X`` (:func:`features`)'s class."""
        X = np.ascontiguousarray(np.atleast_2d(X), np.int64)
        if X.shape[1] != len(FEATURES):
            raise ValueError(f"shape tree: rows of {X.shape[1]} features given, {len(FEATURES)} wanted ({FEATURES})")
        node = np.zeros(len(X), np.int64)
        rows = np.arange(len(X))
        inner = self.feature[node] >= 0
        while inner.any():  # one level per pass, every row at once (no compiled kernel to load)
            r, n = rows[inner], node[inner]
            node[r] = np.where(X[r, self.feature[n]] <= self.value[n], n + 1, self.right[n])
            inner[r] = self.feature[node[r]] >= 0
        return self.value[node]

    def __len__(self) -> int:
        return len(self.feature)

    def to_dict(self) -> dict:
        """JSON form: the three columns, little-endian (int8, int32, int32), base64."""
        for name, col in (("value", self.value), ("right", self.right)):
            if col.size and (col.min() < -(1 << 31) or col.max() >= 1 << 31):
                raise ValueError(f"shape tree: a {name} ({col.min()}..{col.max()}) does not fit int32")
        raw = (self.feature.astype("<i1").tobytes() + self.value.astype("<i4").tobytes()
               + self.right.astype("<i4").tobytes())
        return {"nodes": len(self), "features": list(FEATURES), "feature_i8_value_i32_right_i32": base64.b64encode(raw).decode()}

    @classmethod
    def from_dict(cls, d: dict) -> "ShapeTree":
        if tuple(d.get("features", ())) != FEATURES:
            raise ValueError(f"shape tree over features {d.get('features')}, this lowbit reads {list(FEATURES)}")
        raw, n = base64.b64decode(d["feature_i8_value_i32_right_i32"]), int(d["nodes"])
        if len(raw) != 9 * n:
            raise ValueError(f"shape tree: {len(raw)} bytes for {n} nodes (want {9 * n})")
        return cls(np.frombuffer(raw[:n], "<i1").astype(np.int8),
                   np.frombuffer(raw[n:5 * n], "<i4").astype(np.int64),
                   np.frombuffer(raw[5 * n:], "<i4").astype(np.int64))


def grow(X, y) -> ShapeTree:
    """The CART tree of classes ``y`` (non-negative ints) over feature rows ``X``
    (:func:`features`), grown until each leaf is one class (or its rows agree on every feature:
    then the most frequent class, the smallest on a tie)."""
    X = np.ascontiguousarray(np.atleast_2d(X), np.int64)
    y = np.ascontiguousarray(y, np.int64)
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"shape tree: {X.shape[0]} feature rows and {y.shape[0]} classes (want as many, at least one)")
    if y.min() < 0:
        raise ValueError(f"shape tree: classes must be non-negative (got {y.min()})")
    return ShapeTree(*_grow(X, y, int(y.max()) + 1))
