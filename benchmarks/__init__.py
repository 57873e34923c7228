"""Throughput and quality benchmarks that print ratios against peers."""
