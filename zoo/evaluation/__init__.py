"""What validation measures: stream loss, classification and translation metrics,
gradient flow through time, sweep tables, and the one plotting helper."""
