"""``talksmall export``: its errors are one line and a non-zero exit (the slow success paths,
--json and the table, are in test_bundle.py, on its shared export)."""

from __future__ import annotations

from pathlib import Path

from core.cli import build_parser, main
from core.project import create_project


def test_export_errors_are_one_line(tmp_path: Path, capsys):
    create_project(tmp_path / "p", company_name="Acme").close()

    assert main(["export", str(tmp_path / "p"), "--quant", "q3_k_s"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown model size 'q3_k_s'") and err.count("\n") == 1

    assert main(["export", str(tmp_path / "p"), "--json"]) == 1
    err = capsys.readouterr().err
    assert "no trained run" in err and "talksmall train" in err

    assert main(["export", str(tmp_path / "p"), "--run", "nope"]) == 1
    assert "There is no run nope" in capsys.readouterr().err

    assert main(["export", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_export_options_parse():
    args = build_parser().parse_args(["export", "P", "--quant", "f16", "--quant", "all",
                                      "--out", "D", "--name", "N", "--no-zip", "--json"])
    assert args.quant == ["f16", "all"] and args.out == Path("D") and args.name == "N"
    assert args.no_zip and args.json and args.run is None
    for command in ("chat", "serve"):
        usage = build_parser().parse_args([command, "X", "--quant", "q8_0"])
        assert usage.quant == "q8_0"
