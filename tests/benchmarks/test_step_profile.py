from benchmarks import step_profile


def test_the_profile_lists_the_compiled_step_ops_and_the_matmuls(capsys):
    step_profile.main(["--cell", "lstm", "--units", "8", "--layers", "1", "--steps", "1", "--top", "40"])
    out = capsys.readouterr().out
    assert "lstm, 1 x 8 units, schedule auto: op time" in out
    listed = {line.split()[0] for line in out.splitlines()[1:]}
    # Per step of the window one compiled op each way (no elementwise gate ops), and
    # the matmuls (oneDNN's where it is on).
    assert {"ZooLstmStep", "ZooLstmStepGrad"} <= listed
    assert "Sigmoid" not in listed and any("MatMul" in op for op in listed)
