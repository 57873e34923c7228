"""The character vocabulary: id 0 is the unknown character, ids 1.. the training characters."""

import json

import numpy as np

from zoo.errors import InputError

# A character vocabulary larger than this is almost surely not a text corpus (or is a
# corpus of a script this recipe is not sized for); the output layer grows with it.
MAX_CHARACTERS = 4096


class Vocabulary:
    """Characters of the training split in code-point order, after a reserved unknown id.

    Args:
        characters: The known characters, each once, in id order (id = index + 1).
    """

    UNKNOWN_ID = 0
    UNKNOWN_CHARACTER = "\ufffd"  # how the unknown id is shown when decoded

    def __init__(self, characters):
        self.characters = "".join(characters)
        self._ids = {ch: i + 1 for i, ch in enumerate(self.characters)}
        if len(self._ids) != len(self.characters):
            raise InputError("vocabulary: characters must be distinct")
        self._table = np.array([self.UNKNOWN_CHARACTER, *self.characters])

    @classmethod
    def from_text(cls, text, source="the corpus"):
        characters = sorted(set(text))
        if len(characters) > MAX_CHARACTERS:
            raise InputError(f"{source}: {len(characters)} distinct characters, more than the "
                             f"vocabulary limit of {MAX_CHARACTERS}; expected a text corpus")
        return cls(characters)

    @property
    def size(self):
        """Number of ids, the unknown id included."""
        return len(self.characters) + 1

    def encode(self, text):
        """int32 ids of `text`; characters outside the vocabulary become UNKNOWN_ID."""
        return np.array([self._ids.get(ch, self.UNKNOWN_ID) for ch in text], dtype=np.int32)

    def decode(self, ids):
        return "".join(self._table[np.asarray(ids, dtype=np.int64)])

    def save(self, path):
        path.write_text(json.dumps({"unknown_id": self.UNKNOWN_ID,
                                    "characters": self.characters}, ensure_ascii=True))

    @classmethod
    def load(cls, path):
        return cls(json.loads(path.read_text())["characters"])

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.characters == other.characters
