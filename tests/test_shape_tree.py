"""lowbit.mac.shape_tree: the CART tree that picks cuBLAS's kernel at unrecorded shapes."""
import numpy as np
import pytest

from lowbit.mac import shape_tree as st


def _gini_split_by_brute_force(X, y):
    """The root split CART picks, by the definition (Breiman et al. 1984, ch. 4): over every
    feature and every threshold between two distinct values, the split of least weighted Gini
    impurity; the first such in (feature, threshold) order. Plain Python, no shared code."""
    n = len(y)
    best = None
    for f in range(X.shape[1]):
        for thr in sorted(set(X[:, f].tolist()))[:-1]:
            left = [c for x, c in zip(X[:, f].tolist(), y.tolist()) if x <= thr]
            right = [c for x, c in zip(X[:, f].tolist(), y.tolist()) if x > thr]
            imp = 0.0
            for side in (left, right):
                counts = {c: side.count(c) for c in set(side)}
                imp += len(side) / n * (1 - sum((k / len(side)) ** 2 for k in counts.values()))
            if best is None or imp < best[0] - 1e-12:
                best = (imp, f, thr)
    return best[1], best[2]


@pytest.mark.parametrize("seed", range(6))
def test_root_split_is_the_least_gini_split(seed):
    rng = np.random.default_rng(seed)
    M, N, K = rng.integers(1, 60, 40), rng.integers(1, 60, 40), rng.integers(1, 60, 40)
    X = st.features(M, N, K)
    y = ((M > 20).astype(int) + 2 * (N % 8 == 0) + rng.integers(0, 2, 40) * (K > 50)).astype(np.int64)
    tree = st.grow(X, y)
    assert (int(tree.feature[0]), int(tree.value[0])) == _gini_split_by_brute_force(X, y)


def test_every_training_shape_is_predicted_as_recorded():
    rng = np.random.default_rng(7)
    M, N, K = rng.integers(1, 4096, 3000), rng.integers(1, 4096, 3000), rng.integers(1, 16384, 3000)
    X = st.features(M, N, K)
    keep = np.unique(X, axis=0, return_index=True)[1]
    X, y = X[keep], rng.integers(0, 50, len(keep))  # classes with no structure: the tree must memorise
    assert np.array_equal(st.grow(X, y).predict(X), y)


def test_box_rule_is_recovered_between_training_shapes():
    """Classes that are boxes in M, N and N's alignment: trained on every 8th M and on N of
    four alignments (8, 8 - 1, 8 + 1, 8 + 4), the tree predicts every shape between them, of any
    alignment, right where the training grid straddles each boundary (a threshold is the largest value on
    its left side)."""
    def rule(M, N, K):
        return np.where(M <= 64, 0, np.where(N <= 256, 1, 2)) + 3 * (np.gcd(N, 8) == 8)

    g = np.arange(8, 1025, 8)
    M, N = (a.ravel() for a in np.meshgrid(g, np.concatenate([g, g - 1, g + 1, g + 4])))
    K = np.full_like(M, 512)
    tree = st.grow(st.features(M, N, K), rule(M, N, K))
    Mq, Nq = (a.ravel() for a in np.meshgrid(np.arange(8, 1025), np.arange(8, 1025, 7)))
    Kq = np.full_like(Mq, 512)
    assert np.array_equal(tree.predict(st.features(Mq, Nq, Kq)), rule(Mq, Nq, Kq))


def test_grown_again_gives_the_same_tree_and_json_round_trip():
    rng = np.random.default_rng(3)
    X = st.features(rng.integers(1, 999, 500), rng.integers(1, 999, 500), rng.integers(1, 999, 500))
    y = rng.integers(0, 9, 500)
    a, b = st.grow(X, y), st.grow(X, y)
    c = st.ShapeTree.from_dict(a.to_dict())
    for t in (b, c):
        assert all(np.array_equal(getattr(a, k), getattr(t, k)) for k in ("feature", "value", "right"))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="as many"):
        st.grow(np.zeros((3, 5), np.int64), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="non-negative"):
        st.grow(np.zeros((2, 5), np.int64), np.array([0, -1]))
    tree = st.grow(st.features([1, 2], [3, 4], [5, 6]), np.array([0, 1]))
    with pytest.raises(ValueError, match="5 wanted"):
        tree.predict(np.zeros((1, 3), np.int64))
    d = dict(tree.to_dict(), features=["M", "N"])
    with pytest.raises(ValueError, match="this lowbit reads"):
        st.ShapeTree.from_dict(d)
