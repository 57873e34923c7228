"""Alias kept for users' imports: the module lives in `zoo.run.cpu_allocator`."""
from zoo.run.cpu_allocator import keep_freed_memory_in_process  # noqa: F401
