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
import unicodedata
from collections.abc import Callable
from typing import Any

#: Pieces of an identifier: an acronym before a capitalised word (``DOB`` in ``DOBCheck``), a
#: capitalised or lower-case word, an all-capitals run, digits. Non-ASCII letters (a band named
#: in Chinese) stay one piece each run.
_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\x00-\x7f]+")

#: Pieces longer than this are kept whole, not segmented: no name in a policy is that long
#: (ids and band names have at most 64 characters), and reading cost grows with the square.
MAX_PIECE = 64

#: A word rarer than this in the corpus (per about 10^12 words) is not taken as proof that a
#: piece is one word: ``maxage`` (35,000) and ``racepoints`` (100,000) are read as ``max age``
#: and ``race points``, ``sextant`` (190,000) and ``Essex`` (8.6 million) are not split.
RARE_WORD_COUNT = 150_000


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


def normalise(name: str) -> str:
    """``name`` in NFKC form (full-width ``ａｇｅ`` is ``age``) without invisible format or control
    characters (a zero-width space hidden inside ``age``), Chinese in simplified characters
    (``黨員`` is ``党员``)."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc"))
    if any("\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" for c in text):
        text = _simplified().convert(text)
    return text


@functools.cache
def _simplified() -> Any:
    """OpenCC's traditional-to-simplified Chinese converter (loaded on first need)."""
    import opencc

    return opencc.OpenCC("t2s")


#: Scripts kept as they are by :func:`latin_look`: their words are read as themselves (宗教),
#: and no letter of theirs looks like a Latin one.
_OWN_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO")


@functools.lru_cache(maxsize=4096)
def _latin_letter(char: str) -> str:
    """The ASCII letter ``char`` looks like, or ``char`` itself if it looks like none."""
    if char.isascii() or not char.isalpha():
        return char
    name = unicodedata.name(char, "")
    if name.startswith(_OWN_SCRIPTS):
        return char
    if name.startswith("LATIN"):
        return _latin_base(char) or char
    from confusable_homoglyphs import confusables

    # Unicode's table of confusable characters (UTS #39): Cyrillic 'ѕ' looks like 's',
    # Cherokee 'Ꭺ' like 'A'; a look-alike that is itself a Latin letter is followed once
    # (Cherokee 'ꭺ' is small-capital 'ᴀ', which is 'a').
    for found in confusables.is_confusable(char, greedy=True) or []:
        for glyph in (h["c"] for h in found["homoglyphs"]):
            if glyph.isascii() and glyph.isalpha():
                return glyph
            if len(glyph) == 1 and unicodedata.name(glyph, "").startswith("LATIN"):
                return _latin_base(glyph) or char
    return char


def _latin_base(char: str) -> str | None:
    """The ASCII spelling of a Latin letter with marks or in another form (``é``, ``ᴀ``)."""
    from anyascii import anyascii

    spelt = anyascii(char)
    return spelt if spelt.isascii() and spelt.isalpha() and len(spelt) <= 2 else None


def latin_look(name: str) -> str:
    """``name`` with every letter that looks like an ASCII letter written as that letter:
    Cyrillic or Greek look-alikes (``аgе`` with Cyrillic ``а`` and ``е``), small capitals
    (``ᴀɢᴇ``), letters with marks (``âgé``). Chinese, Japanese and Korean are kept."""
    return "".join(_latin_letter(c) for c in name)


def pieces(name: str) -> list[str]:
    """``name`` (normalised, look-alike letters written in ASCII) split at separators, case
    changes and letter/digit boundaries, lower-cased."""
    return [p.lower() for p in _PIECE.findall(latin_look(normalise(name)))]


def mixes_scripts(name: str) -> bool:
    """True if a word of ``name`` mixes ASCII letters with letters of another script, as a
    disguised name does (a Cyrillic ``а`` in ``аge``); Latin letters with marks (``Straße``,
    ``Café``) are of the same script."""
    for word in re.split(r"[\W_]+", normalise(name)):
        letters = [c for c in word if c.isalpha()]
        if any(c.isascii() for c in letters) and not all(_latin(c) for c in letters):
            return True
    return False


def _latin(char: str) -> bool:
    """True for a letter of the Latin script, with or without marks (``a``, ``é``, ``ß``)."""
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN")


def word_count(word: str) -> float:
    """How often ``word`` occurs in the web corpus (0 if it is not one of its 333,000 words)."""
    return _segmenter().unigrams.get(word, 0.0)


@functools.lru_cache(maxsize=65536)
def segment(piece: str, is_term: Callable[[str], bool]) -> tuple[str, ...]:
    """``piece`` (lower-case letters) as words. A piece that is not a common word in its own
    right and in which the segmenter finds no ``term`` is searched for one between corpus
    words: ``maxage`` is ``max age``, ``latechusheng`` is ``late chusheng``."""
    words = tuple(_segmenter().segment(piece)) or (piece,)
    if any(is_term(w) for w in words) or word_count(piece) >= RARE_WORD_COUNT:
        return words
    return _around_term(piece, is_term, words) or words


#: A word at least this common is an everyday word: a run of them around a refused term of
#: four letters or more is read as words (``racepointslate``: ``race points late``).
COMMON_WORD_COUNT = 1_000_000


#: A word at least this common holds a short term inside it as its own letters (``age`` in
#: ``mortgage``, 74 million; ``sex`` in ``Essex``, 8.6 million); a rarer one (``shan`` in
#: ``fineshan``, 1.2 million) does not, and the term is read.
HOLDING_WORD_COUNT = 5_000_000


def _around_term(
    piece: str, is_term: Callable[[str], bool], read: tuple[str, ...] = ()
) -> tuple[str, ...] | None:
    """``piece`` as (words, term, words): the term a vocabulary word (or a word a stem starts),
    the parts around it empty or corpus words; for a term of four letters or more, also runs of
    everyday words. A short term that the segmenter's reading ``read`` holds inside one of its
    common words is that word's, not a term (``mortgagepayments`` is ``mortgage payments``, not
    ``mortg age payments``); one the reading cuts through may have everyday words around it
    (``lateratedob``, read ``late rated ob``, is ``late rate dob``)."""
    inside: list[tuple[int, int]] = []  # where the reading's words are; common ones held
    at = 0
    held_by: list[tuple[int, int]] = []
    for word in read:
        inside.append((at, at + len(word)))
        if word_count(word) >= HOLDING_WORD_COUNT:
            held_by.append((at, at + len(word)))
        at += len(word)

    def known(part: str, loose: bool) -> tuple[str, ...] | None:
        if part == "" or word_count(part) > 0:
            return (part,) if part else ()
        if loose:
            words = tuple(_segmenter().segment(part))
            if all(word_count(w) >= COMMON_WORD_COUNT for w in words):
                return words
        return None

    for start in range(len(piece)):
        for end in range(len(piece), start + 2, -1):
            middle = piece[start:end]
            if not is_term(middle):
                continue
            held = any(a <= start and end <= b and b - a > end - start for a, b in held_by)
            if held and len(middle) < 4:
                continue  # a short term inside a word of the reading: ``age`` in ``mortgage``
            loose = len(middle) >= 4 or bool(inside)
            before, after = known(piece[:start], loose), known(piece[end:], loose)
            if before is not None and after is not None:
                return (*before, middle, *after)
    return None


def _letters_joined(found: list[str]) -> list[str]:
    """``found`` with each run of two or more single letters joined into one piece: a word
    spelt out letter by letter (``r e l i g i o n``, ``a-g-e``) is read as the word."""
    out: list[str] = []
    run: list[str] = []
    for piece in [*found, ""]:
        if len(piece) == 1 and piece.isascii() and piece.isalpha():
            run.append(piece)
            continue
        out.extend(["".join(run)] if len(run) > 1 else run)
        run = []
        if piece:
            out.append(piece)
    return out


def words_of(
    name: str,
    worth_reading: Callable[[str], bool],
    is_term: Callable[[str], bool],
    keep_whole: Callable[[str], bool],
) -> list[str]:
    """The words of ``name``. Only pieces for which ``worth_reading`` is true (they contain a
    word the caller looks for) and that are not to be kept whole are segmented; the others
    are kept as they are."""
    out: list[str] = []
    for piece in _letters_joined(pieces(name)):
        readable = piece.isascii() and piece.isalpha() and len(piece) <= MAX_PIECE
        if readable and worth_reading(piece) and not keep_whole(piece):
            out.extend(segment(piece, is_term))
        else:
            out.append(piece)
    return out
