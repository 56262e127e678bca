from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.errors import ConfigError
from brewslm.retrieval import Document, chunk_documents, chunk_spans

TEXT = (
    "Refunds are paid within 14 days of the return arriving at our warehouse. "
    "Items must be unused and in their original box.\n\n"
    "Shipping is free on orders over 50 euros. Express delivery costs 9 euros and arrives the next working day. "
    "We ship to every country in the European Union.\n\n"
    "Gift cards never expire and cannot be exchanged for cash."
)


def test_chunks_are_slices_of_the_text_no_longer_than_the_window():
    spans = chunk_spans(TEXT, 120, 30)
    assert len(spans) > 2
    for start, end in spans:
        piece = TEXT[start:end]
        assert 0 < len(piece) <= 120
        assert piece == piece.strip()
    assert spans[0][0] == 0 and spans[-1][1] == len(TEXT)


def test_cuts_prefer_paragraph_then_sentence_boundaries():
    spans = chunk_spans(TEXT, 200, 0)
    first = TEXT[spans[0][0] : spans[0][1]]
    assert first.endswith("original box.")  # the paragraph break, not mid-sentence
    for start, end in spans[:-1]:
        assert TEXT[end - 1] in ".!?"


def test_overlap_repeats_the_end_of_a_chunk_starting_on_a_word():
    spans = chunk_spans(TEXT, 100, 40)
    for (_, previous_end), (start, _) in zip(spans, spans[1:]):
        assert start < previous_end  # overlapping
        assert start == 0 or TEXT[start - 1].isspace()


def test_a_fact_straddling_a_cut_is_whole_in_some_chunk_with_overlap():
    fact = "Express delivery costs 9 euros"
    chunks = [TEXT[s:e] for s, e in chunk_spans(TEXT, 90, 45)]
    assert any(fact in chunk for chunk in chunks)


def test_an_unbroken_word_longer_than_the_window_is_cut_anywhere():
    text = "x" * 25 + " tail"
    spans = chunk_spans(text, 10, 2)
    assert all(end - start <= 10 for start, end in spans)
    assert "".join(text[s:e] for s, e in chunk_spans(text, 10, 0)).replace(" ", "") == text.replace(" ", "")


def test_blank_text_has_no_chunks_and_bad_sizes_are_config_errors():
    assert chunk_spans("  \n ", 50, 10) == []
    with pytest.raises(ConfigError, match="chunk_chars"):
        chunk_spans(TEXT, 0)
    with pytest.raises(ConfigError, match="overlap"):
        chunk_spans(TEXT, 50, 50)


def test_documents_keep_ids_positions_and_offsets():
    docs = [Document("faq-1", TEXT), Document("faq-2", "Short answer.")]
    chunks = chunk_documents(docs, 150, 20)
    assert [c.position for c in chunks if c.doc_id == "faq-1"] == list(range(len(chunks) - 1))
    assert chunks[-1].doc_id == "faq-2" and chunks[-1].text == "Short answer."
    for chunk in chunks:
        source = TEXT if chunk.doc_id == "faq-1" else "Short answer."
        assert source[chunk.start : chunk.end] == chunk.text
    with pytest.raises(ConfigError, match="faq-1"):
        chunk_documents([docs[0], docs[0]], 150)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab .\n!")), max_size=300),
    size=st.integers(1, 60),
    overlap_share=st.floats(0, 0.9),
)
def test_chunking_covers_every_non_space_character_within_bounds(text, size, overlap_share):
    overlap = min(int(size * overlap_share), size - 1)
    spans = chunk_spans(text, size, overlap)
    covered = set()
    for start, end in spans:
        assert 0 < end - start <= size
        covered.update(range(start, end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert [s for s, _ in spans] == sorted({s for s, _ in spans})  # strictly increasing: it terminates
