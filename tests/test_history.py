"""history.csv: parsed by a reader that never writes, killed-epoch rows dropped by truncate, the best row by FID."""

from keras_emojigan.training.history import COLUMNS, HISTORY, best_row, read_history, truncate_history


def _write(tmp_path, rows):
    lines = [",".join(COLUMNS)] + [",".join(str(row.get(c, "")) for c in COLUMNS) for row in rows]
    (tmp_path / HISTORY).write_text("\n".join(lines) + "\n")


def test_rows_are_parsed_and_empty_cells_are_none(tmp_path):
    _write(tmp_path, [{"epoch": 0, "d_loss": 0.5, "fid": ""}, {"epoch": 1, "d_loss": 0.25, "fid": 80.5}])
    rows = read_history(tmp_path)
    assert rows[0]["epoch"] == 0 and isinstance(rows[0]["epoch"], int)
    assert rows[0]["d_loss"] == 0.5 and rows[0]["fid"] is None and rows[1]["fid"] == 80.5


def test_truncate_drops_rows_of_a_killed_epoch_from_the_file(tmp_path):
    _write(tmp_path, [{"epoch": e, "d_loss": e} for e in range(4)])
    assert [r["epoch"] for r in read_history(tmp_path)] == [0, 1, 2, 3]  # reading never writes
    truncate_history(tmp_path, before=2)
    assert [r["epoch"] for r in read_history(tmp_path)] == [0, 1]  # the file itself was cut
    assert not (tmp_path / "history.csv.tmp").exists()


def test_best_row_is_the_lowest_fid_and_the_earliest_on_a_tie(tmp_path):
    _write(tmp_path, [{"epoch": 0, "fid": 90}, {"epoch": 1, "fid": ""}, {"epoch": 2, "fid": 70},
                      {"epoch": 3, "fid": 70}, {"epoch": 4, "fid": 75}])
    assert best_row(read_history(tmp_path))["epoch"] == 2
    assert best_row([{"epoch": 0, "fid": None}]) is None
    assert read_history(tmp_path / "missing") == []


def test_a_run_begun_by_an_older_version_keeps_its_columns(tmp_path):
    from keras_emojigan.training.callbacks import append_history_row

    old = [c for c in COLUMNS if c != "augment_p"]
    (tmp_path / HISTORY).write_text(",".join(old) + "\n" + ",".join("0" for _ in old) + "\n")
    append_history_row(tmp_path / HISTORY, {"epoch": 1, "d_loss": 0.5, "seconds": 2.0, "augment_p": 0.3})
    lines = (tmp_path / HISTORY).read_text().splitlines()
    assert lines[0] == ",".join(old) and len(lines[2].split(",")) == len(old)
    assert read_history(tmp_path)[1]["seconds"] == 2.0


def test_a_last_row_cut_short_is_dropped_and_a_damaged_row_before_it_named(tmp_path):
    import pytest

    from keras_emojigan.errors import UserInputError
    from keras_emojigan.training.callbacks import append_history_row

    _write(tmp_path, [{"epoch": e, "d_loss": e} for e in range(3)])
    path = tmp_path / HISTORY
    whole = path.read_text()
    path.write_text(whole + "3,0.7,1")  # epoch 3's row, cut by a kill before its newline (and its checkpoint)
    assert [r["epoch"] for r in read_history(tmp_path)] == [0, 1, 2]
    truncate_history(tmp_path, before=3)  # what a resume from ckpt-3 does before it appends
    assert path.read_text() == whole
    append_history_row(path, {"epoch": 3, "d_loss": 0.5})
    assert [r["epoch"] for r in read_history(tmp_path)] == [0, 1, 2, 3]
    path.write_text(",".join(COLUMNS[:4]))  # even the header cut: no rows, and a resume starts the file again
    assert read_history(tmp_path) == []
    truncate_history(tmp_path, before=0)
    assert not path.exists()
    lines = whole.splitlines()
    path.write_text("\n".join([lines[0], lines[1], "1,0.5", lines[3]]) + "\n")  # a short row in the middle
    with pytest.raises(UserInputError, match=r"history.csv, line 3: 2 fields where the header has \d+"):
        read_history(tmp_path)


def test_trained_in_bfloat16_reads_the_column_and_knows_when_it_is_absent():
    from keras_emojigan.training.history import trained_in_bfloat16

    assert trained_in_bfloat16([{"bfloat16": 0.0}, {"bfloat16": 1.0}]) is True  # moved to a bf16 machine
    assert trained_in_bfloat16([{"bfloat16": 0.0}, {"bfloat16": 0.0}]) is False
    assert trained_in_bfloat16([{"epoch": 0}, {"bfloat16": None}]) is None  # recorded before the column
