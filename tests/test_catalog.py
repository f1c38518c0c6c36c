"""The named encoders: the listing (Python and command line) says what each is and whether
it is installed, and the pins agree with the installed packages' own metadata."""

from importlib import metadata

from pytext_psych import models
from pytext_psych.cli import main
from pytext_psych.core.catalog import known_model


def test_the_listing_names_each_model_with_its_pins():
    table = models().set_index("name")
    assert table.loc["mpnet-base", "weights_sha256"] == known_model("mpnet-base").weights.sha256
    assert table.loc["mpnet-base", "layers"] == 12 and table.loc["minilm-l6", "layers"] == 6
    assert table["installed"].all()  # the test command installs both ([train], models --install)
    assert table["default"].tolist() == [True, False]
    assert table.loc["mpnet-base", "size_mb"] > 400


def test_pinned_versions_are_the_installed_ones():
    """The digests are pinned for one version of each third-party package: a newer release
    of a repackaging must be looked at (and pinned) before it is trusted."""
    for name in ("minilm-l6", "mpnet-base"):
        model = known_model(name)
        assert {metadata.version(p) for p in model.packages} == {model.version}


def test_an_unknown_name_is_not_a_known_model():
    assert known_model("sentence-transformers/all-mpnet-base-v2") is None  # a hub name stays a hub name
    assert known_model("default") is known_model("minilm-l6")


def test_command_line_lists_and_installs(capsys):
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    assert "mpnet-base" in listed and "sentence-transformers/all-mpnet-base-v2" in listed
    assert main(["models", "--install", "mpnet-base"]) == 0  # installed: assembles and verifies
    assert "mpnet-base: verified in" in capsys.readouterr().out
    assert main(["models", "--install", "bert"]) == 2
    assert "no model is called 'bert'" in capsys.readouterr().err
