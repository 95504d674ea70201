"""How an identifier is read as words: ``ageGroup``, ``age-group``, ``age_group`` and ``agegroup``
are all the words ``age group``.

A name is first split at everything that is not a letter or digit, at lower-to-upper case
changes (``dateOfBirth``, ``DOBCheck``) and between letters and digits (``age18``). A piece
that is not itself an English word is then divided into the most probable sequence of words by
:mod:`wordsegment` (Norvig's segmentation over the Google web corpus unigram counts), so
``birthyear`` reads as ``birth year`` while ``passage`` and ``essex``, common words in their own
right, stay whole. The corpus is loaded on first need only (about 0.3 s and 50 MB), and only
for pieces that contain a word the caller asks about.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

#: Pieces of an identifier: an acronym before a capitalised word (``DOB`` in ``DOBCheck``), a
#: capitalised or lower-case word, an all-capitals run, digits. Non-ASCII letters (a band named
#: in Chinese) stay one piece each run.
_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\x00-\x7f]+")

#: A word rarer than this in the corpus (per about 10^12 words) is not taken as proof that a
#: piece is one word: ``maxage`` (35,000) is read as ``max age``, ``sextant`` (190,000) is not
#: split.
RARE_WORD_COUNT = 100_000


@functools.cache
def _segmenter() -> Any:
    """wordsegment's segmenter with the unigram counts only (bigrams would double the memory
    and change nothing for names of a few words)."""
    from wordsegment import Segmenter

    segmenter = Segmenter()
    segmenter.unigrams.update(segmenter.parse(segmenter.UNIGRAMS_FILENAME))
    segmenter.total = segmenter.TOTAL
    segmenter.limit = segmenter.LIMIT
    return segmenter


def pieces(name: str) -> list[str]:
    """``name`` split at separators, case changes and letter/digit boundaries, lower-cased."""
    return [p.lower() for p in _PIECE.findall(name)]


def word_count(word: str) -> float:
    """How often ``word`` occurs in the web corpus (0 if it is not one of its 333,000 words)."""
    return _segmenter().unigrams.get(word, 0.0)


@functools.lru_cache(maxsize=65536)
def segment(piece: str, is_term: Callable[[str], bool]) -> tuple[str, ...]:
    """``piece`` (lower-case letters) as words. A rare word that divides into a ``term`` and
    another corpus word is read as the two (``maxage``: ``max age``)."""
    words = tuple(_segmenter().segment(piece)) or (piece,)
    if words != (piece,) or word_count(piece) >= RARE_WORD_COUNT:
        return words
    for cut in range(2, len(piece) - 1):
        head, tail = piece[:cut], piece[cut:]
        if (is_term(head) and word_count(tail) > 0) or (is_term(tail) and word_count(head) > 0):
            return (head, tail)
    return words


def words_of(
    name: str, worth_reading: Callable[[str], bool], is_term: Callable[[str], bool]
) -> list[str]:
    """The words of ``name``. Only pieces for which ``worth_reading`` is true (they contain a
    word the caller looks for) are segmented; the others are kept as they are."""
    out: list[str] = []
    for piece in pieces(name):
        if piece.isascii() and piece.isalpha() and worth_reading(piece) and not is_term(piece):
            out.extend(segment(piece, is_term))
        else:
            out.append(piece)
    return out
