"""`python -m recipes.seq2seq` (work in progress): the smoke run trains and scores greedy
and beam exact match on held-out days."""

from recipes.seq2seq import main
from run_folders import only_run
from event_files import load_events, scalar_series


def test_the_smoke_run_trains_and_scores_exact_match(tmp_path, capsys):
    main(["--smoke", "--logdir", str(tmp_path / "runs")])
    events = load_events(only_run(tmp_path / "runs"))
    assert sorted(scalar_series(events, "valid/beam_exact_match")) == [3, 6]
    assert sorted(scalar_series(events, "test/greedy_exact_match")) == [6]
    assert "test/beam_exact_match" in capsys.readouterr().out
