"""Model builders over the zoo layers: the language model, the sequence classifier, the
encoder-decoder and the long-range model."""
