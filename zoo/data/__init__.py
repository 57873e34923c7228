"""Corpus loading, the character vocabulary, and stream batching for stateful TBPTT."""

from zoo.data.corpus import DEFAULT_CORPUS, load_corpus, split_corpus
from zoo.data.streams import cut_into_streams, tbptt_windows, window_count
from zoo.data.tokens import CharacterVocabulary

__all__ = ["DEFAULT_CORPUS", "load_corpus", "split_corpus", "cut_into_streams", "tbptt_windows",
           "window_count", "CharacterVocabulary"]
