"""Near-duplicate text detection: MinHash sketches and LSH band keys.

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

NUM_PERM = 128
SHINGLE_WORDS = 3
BAND_ROWS = 2  # 64 bands of 2 rows: candidate odds 0.99 at Jaccard 0.3, 0.15 at 0.05
HISTORY_BAND_STEP = 8  # old news filed under every 8th band: odds 0.90 at Jaccard 0.5, 0.999 at 0.75
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


@dataclass(frozen=True)
class StorySketch:
    """A text's sketch computed ahead of storing (by an import's worker processes), so the
    store does not sketch it again; `sketch` None: too short to group."""

    sketch: Sketch | None
    history: bool = False  # old news (an import's): filed under a sparse set of bands


def shingle_set(text: str, width: int = SHINGLE_WORDS) -> set[str]:
    """Distinct runs of `width` consecutive lower-cased words."""
    words = _WORD.findall(text.casefold())
    if width == 3:  # the stored sketches' width, as one zip: no slice and join per word of every article
        return {f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:])}
    return {" ".join(words[i:i + width]) for i in range(max(len(words) - width + 1, 0))}


def sketch_text(text: str) -> Sketch | None:
    """The sketch of `text`, or None when it is too short to tell stories apart."""
    shingles = shingle_set(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    signature = minhash_values(shingles).astype(np.uint32).tobytes()
    return Sketch(signature=signature, size=len(shingles))


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of datasketch's affine32 scheme for `seed`: odd multipliers, any offsets."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


_PERMUTATIONS = affine32_permutations(NUM_PERM, SEED)


def minhash_values(shingles: set[str]) -> np.ndarray:
    """datasketch's `MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")` of the
    shingles, value for value (the signatures stored so far came from it, datasketch 2's
    default; tests/test_stories.py checks the equality), computed here so that importing
    the store does not import datasketch and scipy at every run's start-up, with
    the per-item work in one numpy pass: SHA-1's first 4 bytes read little-endian (its
    `sha1_hash32`), the MurmurHash3 32-bit finalizer, then a * h + b modulo 2**32 for each
    permutation; the minimum per permutation."""
    digests = b"".join([hashlib.sha1(s.encode("utf-8")).digest()[:4] for s in shingles])
    hashes = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
    a, b = _PERMUTATIONS
    with np.errstate(over="ignore"):
        return (np.outer(hashes, a) + b).min(axis=0)


def _fmix32(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def estimate_jaccard(a: Sketch, b: Sketch) -> float:
    return float(np.count_nonzero(a.values() == b.values())) / NUM_PERM


def estimate_containment(a: Sketch, b: Sketch) -> float:
    """Shared shingles over the smaller set, from the Jaccard estimate and both sizes."""
    jaccard = estimate_jaccard(a, b)
    shared = jaccard * (a.size + b.size) / (1.0 + jaccard)
    return min(shared / min(a.size, b.size), 1.0)


def is_same_story(a: Sketch, b: Sketch) -> bool:
    return estimate_jaccard(a, b) >= MIN_JACCARD and estimate_containment(a, b) >= SAME_STORY_CONTAINMENT


def band_keys(sketch: Sketch, every: int = 1) -> list[int]:
    """One key per LSH band (of every `every`-th band): texts sharing any key are candidates
    for the same story. A key is a signed 64-bit integer mixing the band's two values and
    its number (so one compact integer index holds every band), with the 64-bit finalizer
    of MurmurHash3 over the whole array at once."""
    pairs = sketch.values().astype(np.uint64).reshape(-1, BAND_ROWS)[::every]
    numbers = np.arange(0, NUM_PERM // BAND_ROWS, every, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = _fmix64((pairs[:, 0] << np.uint64(32)) ^ pairs[:, 1] ^ (numbers * np.uint64(0x9E3779B97F4A7C15)))
    return mixed.view(np.int64).tolist()


def _fmix64(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))
