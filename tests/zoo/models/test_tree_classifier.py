"""The tree classifier: padding and batch neighbours change nothing, and it saves as .keras."""

import keras
import numpy as np

from zoo.data import listops
from zoo.data.tree_batch import tree_batch
from zoo.models.tree_classifier import TREE_LAYERS, build_tree_classifier


def model_inputs(batch, vocabulary):
    ids = np.vectorize(lambda token: vocabulary.get(token, 0), otypes=[np.int32])(batch.tokens)
    return [ids, batch.parents, batch.depths, batch.child_slots]


def test_each_tree_is_classified_alone_whatever_the_padding_and_saves_as_keras(tmp_path):
    rng = np.random.default_rng(0)
    vocabulary = {token: index for index, token in
                  enumerate((*listops.OPERATORS, *listops.DIGITS, listops.CLOSE), start=1)}
    trees = [listops.random_expression(rng, max_depth=4) for _ in range(5)]
    for kind in TREE_LAYERS:
        model = build_tree_classifier(10, len(vocabulary) + 1, model=kind, units=6)
        shaped = [listops.binarized(tree) for tree in trees] if kind == "binary-tree-lstm" else trees
        together = np.asarray(model(model_inputs(tree_batch(shaped), vocabulary)))
        wide = tree_batch(shaped, width=tree_batch(shaped).tokens.shape[1] + 4)
        np.testing.assert_allclose(np.asarray(model(model_inputs(wide, vocabulary))), together, atol=1e-6)
        alone = [np.asarray(model(model_inputs(tree_batch([tree]), vocabulary)))[0] for tree in shaped]
        np.testing.assert_allclose(alone, together, atol=1e-6)
        path = tmp_path / f"{kind}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(np.asarray(loaded(model_inputs(tree_batch(shaped), vocabulary))),
                                   together, atol=1e-6)
