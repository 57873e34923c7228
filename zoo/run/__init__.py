"""Run plumbing every recipe shares: the task contract, configs, the command line, run
folders, the bad-input error, TensorBoard summaries, the CPU allocator setting and the console."""
