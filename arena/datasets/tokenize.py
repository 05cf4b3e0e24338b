"""An offline, Treebank-style word tokenizer for the book's text scripts.

The book tokenizes with NLTK's ``word_tokenize``, which first splits sentences with the
``punkt`` models; those are not available offline. ``word_tokenize`` here is the regular-expression
part, NLTK's ``TreebankWordTokenizer`` (Penn Treebank conventions: punctuation split off,
``don't`` -> ``do n't``, ``"`` -> `````` / ``''``), applied to the whole text with no sentence split.
When NLTK is importable its own ``TreebankWordTokenizer`` is used, so both give the same tokens.
"""
import re

__all__ = ["word_tokenize"]

_STARTING_QUOTES = [
    (re.compile(r'^"'), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r"([ (\[{<])(\"|'{2})"), r"\1 `` "),
]
_PUNCTUATION = [
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.\.\."), r" ... "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile(r"([^.])(\.)([\]\)}>\"']*)\s*$"), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
]
_PARENS = (re.compile(r"[\]\[(){}<>]"), r" \g<0> ")
_DOUBLE_DASHES = (re.compile(r"--"), r" -- ")
_ENDING_QUOTES = [
    (re.compile(r'"'), " '' "),
    (re.compile(r"(\S)('')"), r"\1 \2 "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
]
_CONTRACTIONS = [re.compile(p) for p in (
    r"(?i)\b(can)(?#X)(not)\b", r"(?i)\b(d)(?#X)('ye)\b", r"(?i)\b(gim)(?#X)(me)\b",
    r"(?i)\b(gon)(?#X)(na)\b", r"(?i)\b(got)(?#X)(ta)\b", r"(?i)\b(lem)(?#X)(me)\b",
    r"(?i)\b(mor)(?#X)('n)\b", r"(?i)\b(wan)(?#X)(na)\s",
    r"(?i) ('t)(?#X)(is)\b", r"(?i) ('t)(?#X)(was)\b")]


def _treebank(text):
    for regexp, sub in _STARTING_QUOTES:
        text = regexp.sub(sub, text)
    for regexp, sub in _PUNCTUATION:
        text = regexp.sub(sub, text)
    text = _PARENS[0].sub(_PARENS[1], text)
    text = _DOUBLE_DASHES[0].sub(_DOUBLE_DASHES[1], text)
    text = " " + text + " "
    for regexp, sub in _ENDING_QUOTES:
        text = regexp.sub(sub, text)
    for regexp in _CONTRACTIONS:
        text = regexp.sub(r" \1 \2 ", text)
    return text.split()


try:  # the reference implementation, when installed
    from nltk.tokenize import TreebankWordTokenizer as _NLTKTreebank
    _nltk_tokenize = _NLTKTreebank().tokenize
except ImportError:  # pragma: no cover - depends on the environment
    _nltk_tokenize = None


def word_tokenize(text):
    """Split ``text`` into Penn-Treebank-style word tokens (a list of str), without a sentence split.

    >>> word_tokenize("I didn't like it, (really)!")
    ['I', 'did', "n't", 'like', 'it', ',', '(', 'really', ')', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize expects a str; got {type(text).__name__}")
    return _nltk_tokenize(text) if _nltk_tokenize is not None else _treebank(text)
