"""w2s.markers: the one writer of generated blocks in docs."""

import pytest

from w2s.markers import MarkersError, markers, write_between


def test_block_on_its_own_lines_is_replaced_and_the_rest_kept(tmp_path):
    begin, end = markers("table")
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{begin}\nold\nlines\n{end}\noutro\n")
    write_between(doc, "table", "\nnew\n")
    assert doc.read_text() == f"intro\n{begin}\nnew\n{end}\noutro\n"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.md"]  # no temporary file left behind


def test_block_inside_a_line_stays_inside_it(tmp_path):
    begin, end = markers("timing")
    doc = tmp_path / "doc.md"
    doc.write_text(f"- {begin}old{end}\n- other\n")
    write_between(doc, "timing", "new sentence.")
    assert doc.read_text() == f"- {begin}new sentence.{end}\n- other\n"
    write_between(doc, "timing", "two\nlines")
    assert doc.read_text() == f"- {begin}\ntwo\nlines\n{end}\n- other\n"


@pytest.mark.parametrize(
    "text, rule", [(None, "does not exist"), ("no markers\n", "has no"), ("<!-- b:end --> <!-- b:begin -->", "has no")]
)
def test_missing_markers_are_a_one_line_error(tmp_path, text, rule):
    doc = tmp_path / "doc.md"
    if text is not None:
        doc.write_text(text)
    with pytest.raises(MarkersError, match=rule) as e:
        write_between(doc, "b", "x")
    assert "\n" not in str(e.value) and "<!-- b:begin -->" in str(e.value)
    if text is not None:
        assert doc.read_text() == text
