"""Data: corpora, tokens and vocabularies (`zoo.data.tokens`), stream batching for stateful
TBPTT, labelled sequences and texts, pair files, generated dates and synthetic problems."""

from zoo.data.corpus import DEFAULT_CORPUS, load_corpus, split_corpus
from zoo.data.streams import cut_into_streams, tbptt_windows, window_count
from zoo.data.tokens import CharacterVocabulary

__all__ = ["DEFAULT_CORPUS", "load_corpus", "split_corpus", "cut_into_streams", "tbptt_windows",
           "window_count", "CharacterVocabulary"]
