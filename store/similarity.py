"""Near-duplicate text detection: MinHash sketches (datasketch) and LSH band keys.

Pure functions, no database. `sketch_text(text)` turns an article's clean text into a
`Sketch`: a 128-value MinHash signature of its word 3-shingles plus the number of
distinct shingles. Two sketches are the same story when the estimated *containment*
(shared shingles over the smaller text's shingles) reaches `SAME_STORY_CONTAINMENT`
and the estimated Jaccard is at least `MIN_JACCARD` (so chance agreement between a short
and a long text is not mistaken for containment). Containment rather than plain Jaccard,
so a copy cut short by a feed or an outlet still counts, and different boilerplate
around the same wire text does not split a story.
`band_keys(sketch)` gives the LSH bands under which a sketch is filed so candidates are
found by index lookups instead of comparing against every stored article.

The numbers were tuned by `bench/stories.py` on perturbed copies of the shared
article-extraction benchmark texts (see the figures in that file's docstring).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHash

NUM_PERM = 128
SHINGLE_WORDS = 3
BAND_ROWS = 2  # 64 bands of 2 rows: candidate odds 0.99 at Jaccard 0.3, 0.15 at 0.05
MIN_SHINGLES = 25  # shorter texts (a headline, a one-line summary) are never grouped
SAME_STORY_CONTAINMENT = 0.6
MIN_JACCARD = 0.1  # a floor against noise: a short text and a long one share a few slots by chance
SEED = 20261128
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Sketch:
    """A text's MinHash signature (uint32 values as bytes) and its distinct shingle count."""

    signature: bytes
    size: int

    def values(self) -> np.ndarray:
        return np.frombuffer(self.signature, dtype=np.uint32)


def shingle_set(text: str, width: int = SHINGLE_WORDS) -> set[str]:
    """Distinct runs of `width` consecutive lower-cased words."""
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i:i + width]) for i in range(max(len(words) - width + 1, 0))}


def sketch_text(text: str) -> Sketch | None:
    """The sketch of `text`, or None when it is too short to tell stories apart."""
    shingles = shingle_set(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    signature = LeanMinHash(minhash).hashvalues.astype(np.uint32).tobytes()
    return Sketch(signature=signature, size=len(shingles))


def estimate_jaccard(a: Sketch, b: Sketch) -> float:
    return float(np.count_nonzero(a.values() == b.values())) / NUM_PERM


def estimate_containment(a: Sketch, b: Sketch) -> float:
    """Shared shingles over the smaller set, from the Jaccard estimate and both sizes."""
    jaccard = estimate_jaccard(a, b)
    shared = jaccard * (a.size + b.size) / (1.0 + jaccard)
    return min(shared / min(a.size, b.size), 1.0)


def is_same_story(a: Sketch, b: Sketch) -> bool:
    return estimate_jaccard(a, b) >= MIN_JACCARD and estimate_containment(a, b) >= SAME_STORY_CONTAINMENT


def band_keys(sketch: Sketch) -> list[str]:
    """One key per LSH band: texts sharing any key are candidates for the same story."""
    values = sketch.values()
    keys = []
    for band in range(NUM_PERM // BAND_ROWS):
        chunk = values[band * BAND_ROWS:(band + 1) * BAND_ROWS].tobytes()
        keys.append(f"{band:02d}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys
